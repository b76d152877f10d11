package vsphere

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

func TestContainerMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the image store's disks need root to unpack")
	}
	ctx := context.Background()
	b, s := volumeEnv(t)
	b.cfg.HostBinds = true
	e := &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
	for _, n := range []string{"data", "logs"} {
		if _, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	host := t.TempDir()
	layer := e.emptyLayer(t)
	sp := spec("mounts", layer, models.Process{}, nil)
	sp.Mounts = []*models.Mount{
		{Type: "volume", Source: "logs", Destination: "/data/logs"},
		{Type: "volume", Source: "data", Destination: "/data", ReadOnly: true},
		{Type: "bind", Source: host, Destination: "/h"},
		{Type: "tmpfs", Destination: "/t", SizeBytes: 1 << 20, Mode: 0o700, Options: []string{"noexec"}},
	}
	info := e.create(t, sp)
	got := info.Spec.Mounts
	if len(got) != 4 || got[0].Destination != "/data" || !got[0].ReadOnly || got[3].Destination != "/data/logs" ||
		got[2].Type != "tmpfs" || got[2].SizeBytes != 1<<20 || got[2].Mode != 0o700 {
		t.Errorf("spec mounts (parents first): %+v %+v %+v %+v", got[0], got[1], got[2], got[3])
	}
	// The volumes' disks are on the VM, independent-persistent, after the container's own disk.
	// Each sits at the SCSI address the guest's configuration names (tether/wire's units).
	vm := e.vm(t, info)
	units := map[string]string{} // volume file → "bus:unit"
	var disks []string
	for _, d := range vm.Config.Hardware.Device {
		if vd, ok := d.(*types.VirtualDisk); ok {
			fb := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			disks = append(disks, fb.DiskMode+" "+fb.FileName)
			if vd.UnitNumber != nil {
				units[fb.FileName] = fmt.Sprintf("0:%d", *vd.UnitNumber)
			}
		}
	}
	for _, m := range newContainerVM(vm).mounts() {
		if m.Type != "volume" {
			continue
		}
		file := fmt.Sprintf("[LocalDS_0] vols/volumes/%s/%s.vmdk", m.Source, m.Source)
		if m.Disk == "" || units[file] != m.Disk || m.Disk == fmt.Sprintf("0:%d", wire.RootDiskUnit) {
			t.Errorf("volume %s: the guest looks at %q, the disk is at %q", m.Source, m.Disk, units[file])
		}
	}
	if len(disks) != 3 || !strings.HasSuffix(disks[0], ".vmdk") || !strings.Contains(strings.Join(disks[1:], " "), "independent_persistent [LocalDS_0] vols/volumes/data/data.vmdk") {
		t.Errorf("disks %q", disks)
	}
	if err := b.RemoveVolume(ctx, "data"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("removing a volume a container has: %v", err)
	}
	for _, c := range []struct {
		m    models.Mount
		want string
	}{
		{models.Mount{Type: "volume", Source: "nope", Destination: "/x"}, "not found"},
		{models.Mount{Type: "bind", Source: host + "/missing", Destination: "/x"}, "bind source path does not exist: " + host + "/missing"},
		{models.Mount{Type: "volume", Source: "data", Destination: "/"}, "destination can't be '/'"},
		{models.Mount{Type: "tmpfs", Destination: "/x", Options: []string{"size=1"}}, "option"},
		{models.Mount{Type: "volume", Source: "data", Destination: "rel"}, "must be absolute"},
	} {
		sp := spec("bad-"+c.want, layer, models.Process{}, nil)
		sp.Mounts = []*models.Mount{&c.m}
		if _, err := b.CreateContainer(ctx, sp); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.m, err, c.want)
		}
	}
	b.cfg.HostBinds = false
	sp = spec("bind-on-vsphere", layer, models.Process{}, nil)
	sp.Mounts = []*models.Mount{{Type: "bind", Source: host, Destination: "/h"}}
	if _, err := b.CreateContainer(ctx, sp); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "NFS volume store") {
		t.Errorf("a bind mount on vSphere: %v", err)
	}

	// Removing the container keeps its volumes.
	if err := b.RemoveContainer(ctx, *info.ID, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"data", "logs"} {
		if _, err := os.Stat(e.dsDir + "/vols/volumes/" + n + "/" + n + ".vmdk"); err != nil {
			t.Errorf("volume %s after its container's removal: %v", n, err)
		}
		if err := b.RemoveVolume(ctx, n); err != nil {
			t.Errorf("remove %s: %v", n, err)
		}
	}
}
