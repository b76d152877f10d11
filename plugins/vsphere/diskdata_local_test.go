package vsphere

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmware/govmomi/vmdk"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// TestLocalDiskFiles: on a datastore whose files are on this machine, a container's folder and disk are made,
// and folders deleted, as files here, the way the simulator's FileManager and VirtualDiskManager make them:
// a folder of its own (refused when it exists), a descriptor naming the parent with its empty flat extent
// (refused when it exists), readable by govmomi's own parser as the simulator reads disks.
func TestLocalDiskFiles(t *testing.T) {
	ls := newLayerStore(t)
	ctx := context.Background()
	data, err := ls.b.prepareLayers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	local, ok := data.(*localDiskData)
	if !ok {
		t.Fatalf("the simulator's datastore gave %T", data)
	}
	made, err := local.mkdir("ctr-1")
	if err != nil || !made {
		t.Fatalf("mkdir: made %v, %v", made, err)
	}
	if st, err := os.Stat(filepath.Join(ls.dsDir, "ctr-1")); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the folder: %v %v", st, err)
	}
	if made, err := local.mkdir("ctr-1"); err != nil || made {
		t.Fatalf("mkdir of an existing folder: made %v, %v", made, err)
	}
	if _, err := local.mkdir("no-such/ctr-2"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("mkdir without its parent: %v, want not found", err)
	}

	scratch, err := ls.b.ensureScratch(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	parentRel := LayerDescriptor(DefaultVCHName, ScratchID)
	d, err := ls.b.createDisk(ctx, "ctr-1/c.vmdk", scratch, "../"+parentRel)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(ls.dsDir, "ctr-1", "c.vmdk")
	got := readDesc(t, p)
	if got.CID != d.CID || got.ParentCID != scratch.CID || got.ParentFileNameHint != "../"+parentRel {
		t.Errorf("descriptor: CID %08x (answered %08x), parent %08x %q; scratch %08x", got.CID, d.CID,
			got.ParentCID, got.ParentFileNameHint, scratch.CID)
	}
	if len(got.Extents) != 1 || got.Extents[0].File != "c-flat.vmdk" || got.Extents[0].Sectors != layerDiskCapacityKB*2 ||
		got.DDB["thinProvisioned"] != "1" {
		t.Errorf("descriptor: %+v", got)
	}
	if st, err := os.Stat(filepath.Join(ls.dsDir, "ctr-1", "c-flat.vmdk")); err != nil || st.Size() != 0 {
		t.Errorf("the flat extent: %v %v", st, err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := vmdk.ParseDescriptor(f)
	f.Close()
	if err != nil || gd.Capacity() != layerDiskCapacityKB*1024 || uint32(gd.ParentCID) != scratch.CID {
		t.Errorf("govmomi's parser: capacity %d parentCID %v, %v", gd.Capacity(), gd.ParentCID, err)
	}
	if _, err := ls.b.createDisk(ctx, "ctr-1/c.vmdk", scratch, "../"+parentRel); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("a second create: %v, want a conflict", err)
	}
	if back := readDesc(t, p); back.CID != d.CID {
		t.Errorf("the refused create changed the descriptor")
	}

	if err := local.removeAll("ctr-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ls.dsDir, "ctr-1")); !os.IsNotExist(err) {
		t.Errorf("the folder stays: %v", err)
	}
	if err := local.removeAll("ctr-1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("removing a missing folder: %v, want not found", err)
	}
	for _, bad := range []string{"", ".", "../x"} {
		if err := local.removeAll(bad); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("removeAll(%q): %v, want invalid", bad, err)
		}
	}
}
