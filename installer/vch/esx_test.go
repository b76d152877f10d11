package vch

import (
	"context"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/vch/vchtest"
)

// A standalone ESXi host: a resource pool instead of a vApp, no DRS, the host's own license.
func TestCreateOnESX(t *testing.T) {
	s := vchtest.StartESX(t)
	ctx := context.Background()
	a := s.StartAppliance(t, "vch1")
	m, out := testManager(t)
	o := createOptions(t, s, "vch1", "v1.0.0")
	o.ImageStore = "LocalDS_0"
	o.VolumeStores = []string{"LocalDS_0/volumes:default"}
	o.Backend = "vsphere"
	o.CPUMHz = 2000
	res, err := m.Create(ctx, o)
	if err != nil {
		t.Fatalf("create on ESX: %v", err)
	}
	for _, want := range []string{"DRS check SKIPPED - target is standalone host", "License check OK", `Creating resource pool "vch1"`,
		"Initialization of appliance successful"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if res.Access.DockerAddr() != a.IP+":2376" {
		t.Errorf("Docker API at %q, want %s:2376", res.Access.DockerAddr(), a.IP)
	}
	v := readVCH(t, s, "vch1")
	if v.ID != res.ID || v.Pool.Reference().Type != "ResourcePool" || v.Config.Pool != "/ha-datacenter/host/localhost.localdomain/Resources/vch1" ||
		v.Config.Datacenter != "/ha-datacenter" {
		t.Errorf("VCH on ESX: %s %v %q %q", v.ID, v.Pool.Reference(), v.Config.Pool, v.Config.Datacenter)
	}
	m, _ = testManager(t)
	common := CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1"}
	if _, err := m.Delete(ctx, DeleteOptions{CommonOptions: common, Force: true}); err != nil {
		t.Fatalf("delete on ESX: %v", err)
	}
	if vms, pools := s.VMNames(t), s.PoolNames(t); len(vms) != 0 || len(pools) != 0 {
		t.Errorf("left on ESX: VMs %v pools %v", vms, pools)
	}
}
