package vsphere

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// esxDeltaDescriptor is a delta disk's descriptor as ESXi writes it for a child whose parent is in another
// folder: the hint is absolute, through the parent's datastore's volume UUID.
const esxDeltaDescriptor = `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=5c2e1a9f
parentCID=8d7f4b12
isNativeSnapshot="no"
createType="vmfsSparse"
parentFileNameHint="%s"
# Extent description
RW 16777216 VMFSSPARSE "c1-delta.vmdk"

# The Disk Data Base
#DDB

ddb.longContentID = "0d1c8a4e5f6a7b8c9d0e1f2a5c2e1a9f"
ddb.uuid = "60 00 C2 9a 0b 1c 2d 3e-4f 5a 6b 7c 8d 9e 0f 1a"
`

func TestParentPath(t *testing.T) {
	const uuid = "5d4a3b2c-1a2b3c4d-5e6f-001122334455"
	stores := func() ([]datastoreNames, error) {
		return []datastoreNames{{name: "images-ds", ids: []string{uuid}}, {name: "nfs-ds", ids: []string{"a1b2c3d4-e5f60718"}}}, nil
	}
	const desc = "[images-ds] vch/c1/c1.vmdk"
	for _, c := range []struct {
		hint, want string
		class      error
	}{
		{"../images/l1/l1.vmdk", "[images-ds] vch/images/l1/l1.vmdk", nil},
		{"l0.vmdk", "[images-ds] vch/c1/l0.vmdk", nil},
		{"[nfs-ds] vch/images/l1/l1.vmdk", "[nfs-ds] vch/images/l1/l1.vmdk", nil},
		// ESXi's absolute hints: the volume's UUID (in either case), or the datastore's name.
		{"/vmfs/volumes/" + uuid + "/vch/images/l1/l1.vmdk", "[images-ds] vch/images/l1/l1.vmdk", nil},
		{"/vmfs/volumes/" + strings.ToUpper(uuid) + "/vch/images/l1/l1.vmdk", "[images-ds] vch/images/l1/l1.vmdk", nil},
		{"/vmfs/volumes/a1b2c3d4-e5f60718/x/y.vmdk", "[nfs-ds] x/y.vmdk", nil},
		{"/vmfs/volumes/nfs-ds/x/y.vmdk", "[nfs-ds] x/y.vmdk", nil},
		{"/vmfs/volumes/00000000-00000000-0000-000000000000/x.vmdk", "", errdefs.ErrNotFound},
		{"/tmp/x.vmdk", "", errdefs.ErrInvalid},
		{"/vmfs/volumes/" + uuid, "", errdefs.ErrInvalid},
		{"", "", errdefs.ErrNotFound},
	} {
		got, err := parentPath(desc, c.hint, stores)
		if got != c.want || (c.class == nil) != (err == nil) || (c.class != nil && !errors.Is(err, c.class)) {
			t.Errorf("hint %q: %q %v, want %q %v", c.hint, got, err, c.want, c.class)
		}
	}
}

// TestParentOfESXHint reads, through the datastore, a delta disk's descriptor that names its parent the way
// ESXi does, by an absolute /vmfs/volumes/ path, and finds the parent on the simulator's datastore by its
// name and by its VMFS volume's UUID (the simulated datastore is made a VMFS one, as ESXi's local ones are).
func TestParentOfESXHint(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	const uuid = "5d4a3b2c-1a2b3c4d-5e6f-001122334455"
	for _, o := range s.model.Map().All("Datastore") {
		ds := o.(*simulator.Datastore)
		info := *ds.Info.GetDatastoreInfo() // the URL stays the simulator's folder, where its files are
		ds.Info = &types.VmfsDatastoreInfo{DatastoreInfo: info, Vmfs: &types.HostVmfsVolume{Uuid: uuid}}
	}
	b := newBackend(t, s.config())
	dir := datastoreDir(t, b)
	ds := b.where.datastore.Name()
	stores, err := b.datastoreNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range stores {
		if n.name == ds {
			ids = n.ids
		}
	}
	t.Logf("datastore %s: IDs %v", ds, ids)
	if len(ids) == 0 || ids[0] != uuid {
		t.Fatalf("the datastore's IDs %v lack its VMFS UUID %s", ids, uuid)
	}
	if err := os.MkdirAll(filepath.Join(dir, "vch", "c1"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := &vmDiskData{b: b}
	for _, volume := range append([]string{ds}, ids...) {
		hint := "/vmfs/volumes/" + volume + "/vch/images/l1/l1.vmdk"
		text := strings.Replace(esxDeltaDescriptor, "%s", hint, 1)
		if err := os.WriteFile(filepath.Join(dir, "vch", "c1", "c1.vmdk"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := v.parentOf(ctx, "["+ds+"] vch/c1/c1.vmdk")
		if want := "[" + ds + "] vch/images/l1/l1.vmdk"; err != nil || got != want {
			t.Errorf("hint %s: parent %q (%v), want %q", hint, got, err, want)
		}
	}
}
