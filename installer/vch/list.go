package vch

import (
	"context"
	"strconv"
	"strings"
)

// List finds the VCHs of the target's datacenter (or of every datacenter when the target names none),
// narrowed to the compute resource o names, sorted by name.
func (m *Manager) List(ctx context.Context, o CommonOptions) ([]*VCH, error) {
	ctx, cancel := withTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := m.connect(ctx, o)
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
	return shown, nil
}

// CompareVersions orders "v1.2.3[-suffix]" versions by their numbers; ok is false when either is not one.
func CompareVersions(a, b string) (int, bool) {
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
