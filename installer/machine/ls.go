package machine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
)

// installerVersion is the version upgrade would install: the /VERSION of the appliance ISO at iso when it
// can be read, else vice-machine's own.
func (m *Machine) installerVersion(iso string) string {
	if iso != "" {
		if img, err := ReadISO(iso); err == nil {
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
	if c, ok := compareVersions(vchVersion, installer); ok && c > 0 {
		return "Newer than installer version " + installer
	}
	return "Upgradeable to " + installer
}

// compareVersions orders "v1.2.3[-suffix]" versions by their numbers; ok is false when either is not one.
func compareVersions(a, b string) (int, bool) {
	pa, oka := versionNumbers(a)
	pb, okb := versionNumbers(b)
	if !oka || !okb {
		return 0, false
	}
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

func versionNumbers(v string) ([]int, bool) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

// List prints the VCHs of the target's datacenter (or of all datacenters) as VIC's ls did.
func (m *Machine) List(ctx context.Context, o ListOptions) ([]*VCH, error) {
	m.Log.Infof("### Listing VCHs ####")
	ctx, cancel := m.withTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := m.connect(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer s.Logout(context.Background())
	dcs, err := s.datacenters(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.listVCHs(ctx, dcs)
	if err != nil {
		return nil, err
	}
	var shown []*VCH
	for _, v := range all {
		if o.ComputeResource == "" || poolUnder(v, o.ComputeResource) {
			shown = append(shown, v)
		}
	}
	installer := m.installerVersion(o.ApplianceISO)
	fmt.Fprintln(m.Out)
	tw := tabwriter.NewWriter(m.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPATH\tNAME\tVERSION\tUPGRADE STATUS")
	for _, v := range shown {
		p := ""
		if v.Pool != nil {
			p = v.Pool.InventoryPath
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.ID, p, v.Name, orDash(v.Version), upgradeStatus(v.Version, installer))
	}
	tw.Flush()
	fmt.Fprintln(m.Out)
	return shown, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
