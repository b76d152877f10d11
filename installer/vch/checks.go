package vch

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/license"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// serialRule is what the hosts' firewalls must let out: the containerVMs' serial lines dial the VCH's
// attach port (VIC's "dst 2377/tcp outbound").
var serialRule = types.HostFirewallRule{
	Port:      vchwire.PortAttach,
	PortType:  types.HostFirewallRulePortTypeDst,
	Protocol:  string(types.HostFirewallRuleProtocolTcp),
	Direction: types.HostFirewallRuleDirectionOutbound,
}

// checkFirewall reports the hosts whose firewall blocks the serial lines. It never fails the operation:
// `vice-machine update firewall --allow` fixes it.
func (s *Session) checkFirewall(ctx context.Context, p *placement, log Progress) {
	var ok, blocked, unknown []string
	for _, h := range p.Hosts {
		allowed, err := hostAllowsSerial(ctx, h)
		switch {
		case err != nil:
			log.Debugf("Firewall configuration of %q unavailable: %v", h.InventoryPath, err)
			unknown = append(unknown, h.InventoryPath)
		case allowed:
			ok = append(ok, h.InventoryPath)
		default:
			blocked = append(blocked, h.InventoryPath)
		}
	}
	rule := fmt.Sprintf("%s %d/%s %s", serialRule.PortType, serialRule.Port, serialRule.Protocol, serialRule.Direction)
	if len(blocked) == 0 && len(unknown) == 0 {
		log.Infof("Firewall check OK")
		return
	}
	if len(ok) > 0 {
		log.Infof("Firewall configuration OK on hosts:")
		for _, h := range ok {
			log.Infof("  %q", h)
		}
	}
	if len(blocked) > 0 {
		log.Warnf("Firewall configuration incorrect on hosts:")
		for _, h := range blocked {
			log.Warnf("  %q", h)
		}
		log.Warnf("Firewall must permit %s to the VCH management interface; run `vice-machine update firewall --allow` to open it", rule)
	}
	if len(unknown) > 0 {
		log.Warnf("Firewall configuration unavailable on hosts: %s", strings.Join(quoteAll(unknown), ", "))
	}
}

// hostAllowsSerial reports whether the host's firewall lets the serial lines out.
func hostAllowsSerial(ctx context.Context, h *object.HostSystem) (bool, error) {
	fs, err := h.ConfigManager().FirewallSystem(ctx)
	if err != nil {
		return false, err
	}
	info, err := fs.Info(ctx)
	if err != nil {
		return false, err
	}
	if info == nil {
		return false, fmt.Errorf("no firewall information")
	}
	if b := info.DefaultPolicy.OutgoingBlocked; b != nil && !*b {
		return true, nil
	}
	_, err = object.HostFirewallRulesetList(info.Ruleset).EnabledByRule(serialRule, true)
	return err == nil, nil
}

// checkLicense reports the license of the hosts: the serial port feature is required ("serialuri"); an
// evaluation license is reported as VIC did. A missing feature fails validation.
func (s *Session) checkLicense(ctx context.Context, p *placement, log Progress) error {
	lm := license.NewManager(s.Client)
	const feature = "serialuri"
	if !s.IsVC {
		infos, err := lm.List(ctx)
		if err != nil {
			log.Warnf("License check SKIPPED - %v", err)
			return nil
		}
		warnEval(infos, log)
		if len(infos.WithFeature(feature)) == 0 {
			log.Errorf("License check FAILED:")
			log.Errorf("  Host license missing feature %q", feature)
			return fmt.Errorf("the host's license does not meet the minimum requirements of a VCH (feature %q); assign a license with it", feature)
		}
		log.Infof("License check OK")
		return nil
	}
	am, err := lm.AssignmentManager(ctx)
	if err != nil {
		log.Warnf("License check SKIPPED - %v", err)
		return nil
	}
	var good, bad []string
	var seen license.InfoList
	for _, h := range p.Hosts {
		assigned, err := am.QueryAssigned(ctx, h.Reference().Value)
		if err != nil {
			log.Warnf("License check SKIPPED - %v", err)
			return nil
		}
		has := false
		for _, a := range assigned {
			seen = append(seen, a.AssignedLicense)
			if license.HasFeature(a.AssignedLicense, feature) {
				has = true
			}
		}
		if has {
			good = append(good, h.InventoryPath)
		} else {
			bad = append(bad, fmt.Sprintf("%q - license missing feature %q", h.InventoryPath, feature))
		}
	}
	warnEval(seen, log)
	if len(good) > 0 {
		log.Infof("License check OK on hosts:")
		for _, h := range good {
			log.Infof("  %q", h)
		}
	}
	if len(bad) > 0 {
		log.Errorf("License check FAILED on hosts:")
		for _, h := range bad {
			log.Errorf("  %s", h)
		}
		return fmt.Errorf("the hosts' licenses do not meet the minimum requirements of a VCH (feature %q); assign a license with it to every host of %s",
			feature, p.Compute.InventoryPath)
	}
	return nil
}

func warnEval(infos []types.LicenseManagerLicenseInfo, log Progress) {
	for _, l := range infos {
		if l.EditionKey == "eval" {
			log.Warnf("Evaluation license detected. VCH may not function if evaluation expires or insufficient license is later assigned.")
			return
		}
	}
}

// checkDRS reports whether DRS can place the containerVMs; it returns whether DRS is enabled (a cluster
// without DRS needs a host for every new VM).
func (s *Session) checkDRS(ctx context.Context, p *placement, log Progress) bool {
	if !p.IsCluster {
		log.Infof("DRS check SKIPPED - target is standalone host")
		return false
	}
	cl := object.NewClusterComputeResource(s.Client, p.Compute.Reference())
	cfg, err := cl.Configuration(ctx)
	if err != nil {
		log.Warnf("DRS check SKIPPED - %v", err)
		return false
	}
	if cfg.DrsConfig.Enabled == nil || !*cfg.DrsConfig.Enabled {
		log.Warnf("DRS check FAILED - DRS is disabled on cluster %q:", p.Compute.InventoryPath)
		log.Warnf("  containerVMs will not be balanced across its hosts; enable DRS on the cluster")
		return false
	}
	log.Infof("DRS check OK on:")
	log.Infof("  %q", p.Compute.InventoryPath)
	return true
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
