package vcsim

import (
	"context"
	"log/slog"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vice-machine configure --cpu --memory changes a VCH's vApp with ResourcePool.UpdateConfig, as vCenter
// allows; the simulated vCenter does too, with vCenter's checks and faults.
func TestVAppUpdateConfig(t *testing.T) {
	ctx := context.Background()
	inf, err := Start(ctx, Options{DatastoreDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), DisableEmulator: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inf.Close)
	c, err := govmomi.NewClient(ctx, inf.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	root, err := f.ResourcePool(ctx, "*/Resources")
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vapp, err := root.CreateVApp(ctx, "vch", types.DefaultResourceConfigSpec(), types.VAppConfigSpec{}, folders.VmFolder)
	if err != nil {
		t.Fatal(err)
	}

	spec := types.DefaultResourceConfigSpec()
	spec.CpuAllocation.Limit = types.NewInt64(4000)
	spec.MemoryAllocation.Limit = types.NewInt64(6144)
	if err := vapp.ResourcePool.UpdateConfig(ctx, "", &spec); err != nil {
		t.Fatalf("UpdateConfig on a vApp: %v", err)
	}
	var got mo.VirtualApp
	if err := vapp.Properties(ctx, vapp.Reference(), []string{"config", "name"}, &got); err != nil {
		t.Fatal(err)
	}
	if l := got.Config.CpuAllocation.Limit; l == nil || *l != 4000 {
		t.Errorf("cpu limit %v, want 4000", l)
	}
	if l := got.Config.MemoryAllocation.Limit; l == nil || *l != 6144 || got.Name != "vch" {
		t.Errorf("memory limit %v name %q, want 6144 and vch", l, got.Name)
	}
	// The stand-in pool the call went through is gone.
	if pools, _ := f.ResourcePoolList(ctx, "*/Resources/*"); len(pools) != 0 {
		t.Errorf("pools left beside the vApp: %v", pools)
	}

	// The simulator's own checks apply: a negative reservation is refused, and the vApp keeps its limits.
	bad := types.DefaultResourceConfigSpec()
	bad.CpuAllocation.Reservation = types.NewInt64(-5)
	if err := vapp.ResourcePool.UpdateConfig(ctx, "", &bad); err == nil {
		t.Error("a negative reservation was accepted")
	}
	if err := vapp.Properties(ctx, vapp.Reference(), []string{"config"}, &got); err != nil || *got.Config.CpuAllocation.Limit != 4000 {
		t.Errorf("after a refused update: %v %v", got.Config.CpuAllocation.Limit, err)
	}

	// Without a session nothing changes.
	anon, err := govmomi.NewClient(ctx, inf.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	req := types.UpdateConfig{This: vapp.Reference(), Config: &spec}
	err = anon.RoundTrip(ctx, &soapUpdateConfig{Req: &req}, &soapUpdateConfig{})
	if !fault.Is(err, &types.NotAuthenticated{}) {
		t.Errorf("UpdateConfig without a session: %v", err)
	}
}

// soapUpdateConfig is the request and response body of UpdateConfig, for a call made without govmomi's
// session handling.
type soapUpdateConfig struct {
	Req    *types.UpdateConfig         `xml:"urn:vim25 UpdateConfig,omitempty"`
	Res    *types.UpdateConfigResponse `xml:"urn:vim25 UpdateConfigResponse,omitempty"`
	Fault_ *soap.Fault                 `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *soapUpdateConfig) Fault() *soap.Fault { return b.Fault_ }
