package machine

import (
	"context"
	"strings"
	"testing"
)

// A standalone ESXi host: a resource pool instead of a vApp, no DRS, the host's own license.
func TestCreateOnESX(t *testing.T) {
	s := startESX(t)
	ctx := context.Background()
	a := s.startAppliance(t, "vch1")
	m, out := testMachine(t)
	o := s.createOptions(t, "vch1", "v1.0.0")
	o.ImageStore = "LocalDS_0"
	o.VolumeStores = []string{"LocalDS_0/volumes:default"}
	o.Backend = "vsphere"
	o.CPUMHz = 2000
	res, err := m.Create(ctx, o)
	if err != nil {
		t.Fatalf("create on ESX: %v", err)
	}
	for _, want := range []string{"DRS check SKIPPED - target is standalone host", "License check OK", `Creating resource pool "vch1"`,
		"DOCKER_HOST=" + a.IP + ":2376", "Installer completed successfully"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	v := s.vch(t, "vch1")
	if v.ID != res.ID || v.Pool.Reference().Type != "ResourcePool" || v.Config.Pool != "/ha-datacenter/host/localhost.localdomain/Resources/vch1" ||
		v.Config.Datacenter != "/ha-datacenter" {
		t.Errorf("VCH on ESX: %s %v %q %q", v.ID, v.Pool.Reference(), v.Config.Pool, v.Config.Datacenter)
	}
	m, out = testMachine(t)
	common := CommonOptions{Target: s.target(), Thumbprint: s.thumbprint, Name: "vch1"}
	if err := m.Delete(ctx, DeleteOptions{CommonOptions: common, Force: true}); err != nil {
		t.Fatalf("delete on ESX: %v", err)
	}
	if vms, pools := s.vmNames(t), s.poolNames(t); len(vms) != 0 || len(pools) != 0 {
		t.Errorf("left on ESX: VMs %v pools %v", vms, pools)
	}
}
