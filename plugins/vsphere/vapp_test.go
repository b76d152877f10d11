package vsphere

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// The installer makes the VCH's pool (a vApp on vCenter) and names it with Config.Pool: the backend then
// uses that pool, makes its containerVMs in it with CreateChildVM, and lists them from it.
func TestConfiguredVAppPool(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the image store's disks need root to unpack")
	}
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	c := s.client(t)
	f := find.NewFinder(c, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	root, err := f.ResourcePool(ctx, "/DC0/host/DC0_C0/Resources")
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vapp, err := root.CreateVApp(ctx, "vch-vapp", types.DefaultResourceConfigSpec(), types.VAppConfigSpec{}, folders.VmFolder)
	if err != nil {
		t.Fatalf("CreateVApp: %v", err)
	}

	cfg := s.config()
	cfg.Pool = "/DC0/host/DC0_C0/Resources/nope"
	if _, err := New(ctx, cfg); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("New with a missing pool: %v, want not found (the backend must not create it)", err)
	}

	cfg.Pool = "/DC0/host/DC0_C0/Resources/vch-vapp"
	cfg.VCHName = "vch-vapp"
	b := newBackend(t, cfg)
	if b.where.pool.Reference() != vapp.Reference() || !b.where.isVApp() {
		t.Fatalf("backend pool %v, want the vApp %v", b.where.pool.Reference(), vapp.Reference())
	}
	e := &containerEnv{b: b, c: c, dsDir: datastoreDir(t, b)}
	info := e.create(t, spec("in-vapp", "", models.Process{Path: "/bin/true"}, nil))
	if m := e.vm(t, info); m.ResourcePool == nil || *m.ResourcePool != vapp.Reference() {
		t.Fatalf("containerVM in pool %v, want the vApp", m.ResourcePool)
	}
	list, err := b.ListContainers(ctx, sdk.ListFilter{})
	if err != nil || len(list) != 1 || *list[0].ID != *info.ID {
		t.Fatalf("ListContainers in the vApp: %v %v", list, err)
	}
	if err := b.RemoveContainer(ctx, *info.ID, false); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
}
