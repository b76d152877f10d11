package machine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/vice-engine/vice/installer/vch"
	"github.com/vice-engine/vice/installer/vchwire"
)

// Inspect prints a VCH: its ID and versions, how to reach it (from the appliance's status) and its
// configuration.
func (m *Machine) Inspect(ctx context.Context, o ListOptions) error {
	log := m.Log
	log.Infof("### Inspecting VCH ####")
	v, err := m.VCHs.Inspect(ctx, vch.InspectOptions{CommonOptions: o.CommonOptions, CertPath: o.CertPath})
	if err != nil {
		return err
	}
	installer := m.installerVersion(o.ApplianceISO)
	log.Blank()
	log.Infof("VCH ID: %s", v.ID)
	log.Blank()
	log.Infof("Installer version: %s", installer)
	log.Infof("VCH version: %s", orDash(v.Version))
	log.Blank()
	log.Infof("VCH upgrade status:")
	switch st := upgradeStatus(v.Version, installer); {
	case v.Version == installer:
		log.Infof("Installer has same version as VCH")
		log.Infof("No upgrade available with this installer version")
	case strings.HasPrefix(st, "Newer"):
		log.Infof("VCH is newer than the installer: no upgrade available with this installer version")
	default:
		log.Infof("Upgrade available to %s with `vice-machine upgrade`", installer)
	}
	if v.Previous != "" {
		log.Infof("Rollback available to %s with `vice-machine upgrade --rollback`", v.Previous)
	}
	log.Blank()
	log.Infof("VCH power state: %s", v.PowerState)
	if v.Status != nil {
		log.Infof("Appliance state: %s (reported %s)", v.Status.State, v.Status.Updated.UTC().Format(timeLayout))
		if v.Status.Error != "" {
			log.Warnf("Appliance error: %s", v.Status.Error)
		}
		for _, sv := range v.Status.Services {
			log.Infof("  service %s: %s", sv.Name, sv.State)
		}
	}
	m.reportEndpoint(v.Access, false)

	log.Blank()
	log.Infof("VCH configuration:")
	for _, line := range describe(v) {
		log.Infof("  %s", line)
	}
	log.Blank()
	log.Infof("Completed successfully")
	return nil
}

// describe lists the VCH's configuration for inspect.
func describe(v *vch.Inspection) []string {
	c := v.Config
	var out []string
	add := func(k, f string, a ...any) { out = append(out, fmt.Sprintf("%-22s %s", k+":", fmt.Sprintf(f, a...))) }
	if v.Pool != nil {
		add("Pool", "%s (%s)", v.Pool.InventoryPath, v.PoolKind())
		if v.Limits != nil {
			add("Pool limits", "%s", v.Limits)
		}
	}
	add("Endpoint", "%d vCPU, %d MB", v.CPUs, v.MemoryMB)
	add("Target", "%s", vch.RedactURL(c.Target))
	add("Datacenter", "%s", c.Datacenter)
	add("Compute resource", "%s", c.ComputeResource)
	add("Image store", "%s", c.ImageStore)
	labels := make([]string, 0, len(c.VolumeStores))
	for l := range c.VolumeStores {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		add("Volume store", "%s: %s", l, c.VolumeStores[l])
	}
	add("Bridge network", "%s (%s)", c.BridgeNetwork, c.BridgeNetworkRange)
	add("Public network", "%s", c.PublicNetwork)
	add("Client network", "%s", c.ClientNetwork)
	add("Management network", "%s", c.ManagementNetwork)
	for _, n := range c.ContainerNetworks {
		add("Container network", "%s: %s%s", n.Alias, n.PortGroup, containerNetworkDetails(n))
	}
	if len(c.DNS) > 0 {
		add("DNS servers", "%s", strings.Join(c.DNS, ", "))
	}
	if len(c.InsecureRegistries) > 0 {
		add("Insecure registries", "%s", strings.Join(c.InsecureRegistries, ", "))
	}
	if len(c.RegistryMirrors) > 0 {
		add("Registry mirrors", "%s", strings.Join(c.RegistryMirrors, ", "))
	}
	if len(c.WhitelistRegistries) > 0 {
		add("Whitelisted registries", "%s", strings.Join(c.WhitelistRegistries, ", "))
	}
	if c.RegistryCAs != "" {
		add("Registry CAs", "%d certificates", strings.Count(c.RegistryCAs, "-----BEGIN CERTIFICATE-----"))
	}
	add("TLS", "%s", c.TLS)
	add("Backend", "%s", c.Backend)
	for _, p := range c.Plugins {
		add("Plugin", "%s (%s, sha256 %s)", p.Name, p.File, p.SHA256)
	}
	if v.Debug != nil && v.Debug.SSH {
		add("SSH", "enabled for %d key(s)", len(v.Debug.AuthorizedKeys))
	}
	if c.Debug {
		add("Debug", "on")
	}
	return out
}

// containerNetworkDetails is what a container network is given besides its port group, for inspect.
func containerNetworkDetails(n vchwire.ContainerNetwork) string {
	var parts []string
	if n.Gateway != "" {
		parts = append(parts, "gateway "+n.Gateway)
	}
	if n.IPRange != "" {
		parts = append(parts, "range "+n.IPRange)
	}
	if len(n.DNS) > 0 {
		parts = append(parts, "dns "+strings.Join(n.DNS, ","))
	}
	if n.Firewall != "" {
		parts = append(parts, "firewall "+n.Firewall)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
