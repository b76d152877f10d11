package vch

import (
	"context"
	"errors"
	"fmt"
)

// serialRuleset is the ESXi firewall ruleset that lets the VMs' network serial ports connect out
// ("VM serial port connected over network").
const serialRuleset = "remoteSerialPort"

// UpdateFirewall enables (--allow) or disables (--deny) the serial port ruleset on every host of the compute
// resource, so the containerVMs' serial lines can reach the VCH.
func (m *Manager) UpdateFirewall(ctx context.Context, o FirewallOptions) error {
	log := m.log()
	if o.Allow == o.Deny {
		return errors.New("give --allow (open the outgoing serial port rule) or --deny (close it)")
	}
	ctx, cancel := withTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := m.connect(ctx, o.CommonOptions)
	if err != nil {
		return err
	}
	defer s.Logout(context.Background())
	p, err := s.resolvePlacement(ctx, o.ComputeResource)
	if err != nil {
		return err
	}
	verb := "enabled"
	if o.Deny {
		verb = "disabled"
	}
	for _, h := range p.Hosts {
		fs, err := h.ConfigManager().FirewallSystem(ctx)
		if err != nil {
			return fmt.Errorf("firewall of host %q: %w", h.InventoryPath, err)
		}
		if o.Allow {
			err = fs.EnableRuleset(ctx, serialRuleset)
		} else {
			err = fs.DisableRuleset(ctx, serialRuleset)
		}
		if err != nil {
			if isNotFound(err) {
				return fmt.Errorf("host %q has no firewall ruleset %q; open outgoing TCP to port 2377 by hand", h.InventoryPath, serialRuleset)
			}
			return fmt.Errorf("ruleset %q on host %q: %w", serialRuleset, h.InventoryPath, err)
		}
		log.Infof("Ruleset %q %s on host %q", serialRuleset, verb, h.InventoryPath)
	}
	log.Infof("Firewall changes complete")
	s.checkFirewall(ctx, p, log)
	return nil
}
