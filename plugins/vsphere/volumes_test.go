package vsphere

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	gonfs "github.com/willscott/go-nfs"
	nfshelper "github.com/willscott/go-nfs/helpers"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// volumeEnv is a backend with a default volume store on the simulator's datastore.
func volumeEnv(t *testing.T, stores ...string) (*Backend, *sim) {
	t.Helper()
	s := startSim(t, oneCluster(), nil)
	cfg := s.config()
	if len(stores) == 0 {
		stores = []string{"[LocalDS_0] vols:default"}
	}
	for _, f := range stores {
		v, err := vchwire.ParseVolumeStoreFlag(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg.VolumeStores = append(cfg.VolumeStores, v)
	}
	return newBackend(t, cfg), s
}

func TestVolumeLifecycle(t *testing.T) {
	ctx := context.Background()
	b, s := volumeEnv(t, "[LocalDS_0] vols:default", "[LocalDS_0] other/place:fast")
	stores, err := b.ListVolumeStores(ctx)
	if err != nil || len(stores) != 2 || stores[0].Name != "default" || stores[1].URL != "ds://LocalDS_0/other/place" || stores[0].CapacityBytes <= 0 {
		t.Fatalf("stores %+v %v", stores, err)
	}
	v, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: "v1", CapacityMB: 2048, Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Store != "default" || v.CapacityBytes != 2<<30 || v.FsType != "ext4" || v.Location != "[LocalDS_0] vols/volumes/v1/v1.vmdk" || v.Labels["a"] != "b" {
		t.Errorf("created %+v", v)
	}
	// The disk has the capacity asked for, as the datastore shows it, and its contents directory.
	dir := filepath.Join(datastoreDir(t, b), "vols", "volumes", "v1")
	desc, err := os.ReadFile(filepath.Join(dir, "v1.vmdk"))
	if err != nil || !strings.Contains(string(desc), "RW 4194304 ") {
		t.Errorf("descriptor of a 2 GB disk: %v\n%s", err, desc)
	}
	if st, err := os.Stat(filepath.Join(dir, "rootfs")); err != nil || !st.IsDir() {
		t.Errorf("contents directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rootfs", "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: "v1", Store: "fast"}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("a second v1: %v", err)
	}
	if _, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: "v2", Store: "fast"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec models.VolumeSpec
		want error
	}{
		{models.VolumeSpec{Name: "bad?name"}, errdefs.ErrInvalid},
		{models.VolumeSpec{Name: "v3", Store: "nope"}, errdefs.ErrNotFound},
		{models.VolumeSpec{Name: "v3", FsType: "xfs"}, errdefs.ErrInvalid},
		{models.VolumeSpec{Name: "v3", CapacityMB: -1}, errdefs.ErrInvalid},
	} {
		if _, err := b.CreateVolume(ctx, &c.spec); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.spec, err, c.want)
		}
	}
	got, err := b.GetVolume(ctx, "v1", true)
	if err != nil || got.UsedBytes != 5 {
		t.Errorf("v1 with usage: %+v %v", got, err)
	}
	// Another backend on the same store (a new VCH) sees the volumes.
	cfg := s.config()
	cfg.VCHName = "another-vch"
	cfg.VolumeStores = b.cfg.VolumeStores
	other := newBackend(t, cfg)
	list, err := other.ListVolumes(ctx, false)
	if err != nil || len(list) != 2 || list[0].Name != "v1" || list[1].Name != "v2" || list[1].Store != "fast" || list[0].UsedBytes != -1 {
		t.Fatalf("list from another VCH: %+v %v", list, err)
	}
	if err := other.RemoveVolume(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetVolume(ctx, "v1", false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("v1 after its removal: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the volume's folder stays: %v", err)
	}
	if err := b.RemoveVolume(ctx, "v1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("second removal: %v", err)
	}
}

// TestNFSVolumeStore runs the endpoint's side of an NFS volume store against a Go NFS v3 server (this
// machine's kernel cannot mount NFS, so the guest's side is not run here): volumes are folders of the
// export, with their data folder and record, listed, read back by another VCH, and removed.
func TestNFSVolumeStore(t *testing.T) {
	ctx := context.Background()
	export := t.TempDir()
	fs := osfs.New(export)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gonfs.Serve(ln, nfshelper.NewCachingHandler(nfshelper.NewNullAuthHandler(fs), 1024)) }()
	t.Cleanup(func() { ln.Close() })
	b, s := volumeEnv(t, "[LocalDS_0] vols:default", "nfs://"+ln.Addr().String()+"/:shared")
	stores, err := b.ListVolumeStores(ctx)
	if err != nil || len(stores) != 2 || stores[1].Type != "nfs" || stores[1].URL != "nfs://"+ln.Addr().String()+"/" {
		t.Fatalf("stores %+v %v", stores, err)
	}
	v, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: "n1", Store: "shared", Labels: map[string]string{"on": "nfs"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Store != "shared" || v.StoreType != "nfs" || v.Location != "nfs://127.0.0.1:/volumes/n1/data" || v.Labels["on"] != "nfs" {
		t.Errorf("created %+v", v)
	}
	if st, err := fs.Stat("volumes/n1/data"); err != nil || !st.IsDir() {
		t.Errorf("the export lacks the volume's data folder: %v", err)
	}
	if _, err := fs.Stat("volumes/n1/volume.json"); err != nil {
		t.Errorf("the export lacks the volume's record: %v", err)
	}
	if _, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: "n1"}); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("n1 again, on the other store: %v", err)
	}
	if _, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: "d1"}); err != nil {
		t.Errorf("the datastore store: %v", err)
	}
	cfg := s.config()
	cfg.VCHName, cfg.VolumeStores = "another-vch", b.cfg.VolumeStores
	other := newBackend(t, cfg)
	list, err := other.ListVolumes(ctx, false)
	if err != nil || len(list) != 2 || list[0].Name != "d1" || list[1].Name != "n1" || list[1].Store != "shared" {
		t.Fatalf("list from another VCH: %+v %v", list, err)
	}
	if got, err := other.GetVolume(ctx, "n1", true); err != nil || got.UsedBytes != -1 || got.Labels["on"] != "nfs" {
		t.Errorf("get n1: %+v %v", got, err)
	}
	if err := other.RemoveVolume(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat("volumes/n1"); err == nil {
		t.Error("the volume's folder stays on the export")
	}
	if _, err := b.GetVolume(ctx, "n1", false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("n1 after its removal: %v", err)
	}
}

func TestVolumeWithoutStores(t *testing.T) {
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	if _, err := b.CreateVolume(context.Background(), &models.VolumeSpec{Name: "v1"}); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "--volume-store") {
		t.Errorf("create without stores: %v", err)
	}
	if list, err := b.ListVolumes(context.Background(), false); err != nil || len(list) != 0 {
		t.Errorf("list without stores: %v %v", list, err)
	}
}
