package machine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vice-engine/vice/installer/vch"
)

// Create deploys a VCH and prints how to reach it.
func (m *Machine) Create(ctx context.Context, o vch.CreateOptions) error {
	log := m.Log
	log.Infof("### Installing VCH ####")
	res, err := m.VCHs.Create(ctx, o)
	if err != nil {
		return err
	}
	log.Blank()
	log.Infof("VCH ID: %s", res.ID)
	log.Blank()
	log.Infof("Installer version: %s", m.Build.Version)
	log.Infof("VCH version: %s", res.Version)
	m.reportEndpoint(res.Access, true)
	log.Infof("Installer completed successfully")
	return nil
}

// Delete removes a VCH and lists the volume stores it kept.
func (m *Machine) Delete(ctx context.Context, o vch.DeleteOptions) error {
	log := m.Log
	log.Infof("### Removing VCH ####")
	res, err := m.VCHs.Delete(ctx, o)
	if err != nil {
		return err
	}
	if len(res.VolumeStores) > 0 {
		var kept []string
		for _, l := range slices.Sorted(maps.Keys(res.VolumeStores)) {
			kept = append(kept, fmt.Sprintf("%s (%s)", l, res.VolumeStores[l]))
		}
		log.Infof("Volume stores kept: %s", strings.Join(kept, ", "))
		log.Infof("  remove them on the datastore when their volumes are no longer needed")
	}
	log.Infof("Completed successfully")
	return nil
}

// Upgrade upgrades a VCH to the ISOs' version and prints how to reach it.
func (m *Machine) Upgrade(ctx context.Context, o vch.UpgradeOptions) error {
	log := m.Log
	log.Infof("### Upgrading VCH ####")
	res, err := m.VCHs.Upgrade(ctx, o)
	if err != nil || res.UpToDate {
		return err
	}
	log.Blank()
	log.Infof("VCH ID: %s", res.ID)
	log.Infof("VCH version: %s (previous: %s, restore it with --rollback)", res.Version, res.Previous)
	m.reportEndpoint(res.Access, false)
	log.Infof("Completed successfully")
	return nil
}

// Rollback returns a VCH to its version before the last upgrade and prints how to reach it.
func (m *Machine) Rollback(ctx context.Context, o vch.UpgradeOptions) error {
	log := m.Log
	log.Infof("### Rolling back VCH ####")
	res, err := m.VCHs.Rollback(ctx, o)
	if err != nil {
		return err
	}
	m.reportEndpoint(res.Access, false)
	log.Infof("Completed successfully")
	return nil
}

// Configure changes a VCH and, when the appliance restarted, prints how to reach it.
func (m *Machine) Configure(ctx context.Context, o vch.ConfigureOptions) error {
	log := m.Log
	log.Infof("### Configuring VCH ####")
	res, err := m.VCHs.Configure(ctx, o)
	if err != nil {
		return err
	}
	if res.Restarted {
		m.reportEndpoint(res.Access, res.NewCertificates)
	}
	log.Infof("Completed successfully")
	return nil
}

// UpdateFirewall opens or closes the hosts' serial port rule.
func (m *Machine) UpdateFirewall(ctx context.Context, o vch.FirewallOptions) error {
	m.Log.Infof("### Updating Firewall ####")
	return m.VCHs.UpdateFirewall(ctx, o)
}

// Version prints vice-machine's version, as `vic-machine version` did.
func (m *Machine) Version() {
	if m.Build.Commit != "" {
		fmt.Fprintf(m.Out, "vice-machine version %s (commit %s)\n", m.Build.Version, m.Build.Commit)
		return
	}
	fmt.Fprintf(m.Out, "vice-machine version %s\n", m.Build.Version)
}
