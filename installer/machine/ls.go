package machine

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/vice-engine/vice/installer/vch"
)

// ListOptions are ls's and inspect's flags.
type ListOptions struct {
	vch.CommonOptions
	ApplianceISO string // its /VERSION is what ls and inspect compare to ("Upgradeable to ...")
	CertPath     string
}

// installerVersion is the version upgrade would install: the /VERSION of the appliance ISO at iso when it
// can be read, else vice-machine's own.
func (m *Machine) installerVersion(iso string) string {
	if iso != "" {
		if img, err := vch.ReadISO(iso); err == nil {
			return img.Version
		}
	}
	return m.Build.Version
}

// upgradeStatus is ls's UPGRADE STATUS column.
func upgradeStatus(vchVersion, installer string) string {
	switch {
	case vchVersion == "":
		return "Unknown version"
	case vchVersion == installer:
		return "Up to date"
	}
	if c, ok := vch.CompareVersions(vchVersion, installer); ok && c > 0 {
		return "Newer than installer version " + installer
	}
	return "Upgradeable to " + installer
}

// List prints the VCHs of the target's datacenter (or of all datacenters) as VIC's ls did.
func (m *Machine) List(ctx context.Context, o ListOptions) error {
	m.Log.Infof("### Listing VCHs ####")
	list, err := m.VCHs.List(ctx, o.CommonOptions)
	if err != nil {
		return err
	}
	installer := m.installerVersion(o.ApplianceISO)
	fmt.Fprintln(m.Out)
	tw := tabwriter.NewWriter(m.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPATH\tNAME\tVERSION\tUPGRADE STATUS")
	for _, v := range list {
		p := ""
		if v.Pool != nil {
			p = v.Pool.InventoryPath
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.ID, p, v.Name, orDash(v.Version), upgradeStatus(v.Version, installer))
	}
	tw.Flush()
	fmt.Fprintln(m.Out)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
