package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// A container's mounts (DESIGN §5b): each volume's disk is attached to the containerVM as an
// independent-persistent disk on its paravirtual SCSI controller (at the units tether/wire fixes), and
// the tether mounts it at its destination; a bind mount is a path of the host the guests run on, which only a
// backend whose guests share its host serves (Config.HostBinds); a tmpfs is the guest's memory.

// attachedVolume is a volume disk in a containerVM's configuration.
type attachedVolume struct {
	name string
	file string                       // "[ds] path/volumes/<name>/<name>.vmdk"
	ds   types.ManagedObjectReference // its datastore
	unit int32
}

// errBindsOnVSphere is the refusal of a bind mount where the guests are VMs of their own.
var errBindsOnVSphere = errors.New("bind mounts of host paths are not supported on vSphere: each container is a VM " +
	"with no host path to share; use a volume, or a volume in an NFS volume store (vice-machine --volume-store " +
	"nfs://host/path:label) to share files between containers")

// tmpfsOptions are the tmpfs mount options a spec may give.
var tmpfsOptions = map[string]bool{"exec": true, "noexec": true, "suid": true, "nosuid": true, "dev": true, "nodev": true,
	"ro": true, "rw": true, "atime": true, "noatime": true, "relatime": true, "strictatime": true}

// checkMounts refuses mounts that are malformed or that this backend cannot give.
func (b *Backend) checkMounts(mounts []*models.Mount) error {
	seen := map[string]bool{}
	for _, m := range mounts {
		if m == nil {
			return fmt.Errorf("an empty mount: %w", errdefs.ErrInvalid)
		}
		dst := path.Clean(m.Destination)
		switch {
		case !path.IsAbs(m.Destination):
			return fmt.Errorf("invalid mount path: '%s' mount path must be absolute: %w", m.Destination, errdefs.ErrInvalid)
		case dst == "/":
			return fmt.Errorf("invalid specification: destination can't be '/': %w", errdefs.ErrInvalid)
		case seen[dst]:
			return errdefs.Classed(fmt.Errorf("Duplicate mount point: %s", dst), errdefs.ErrInvalid)
		}
		seen[dst] = true
		switch m.Type {
		case wire.MountVolume:
			if err := checkVolumeName(m.Source); err != nil {
				return err
			}
		case wire.MountBind:
			if err := b.checkBind(m); err != nil {
				return err
			}
		case wire.MountTmpfs:
			if m.Source != "" || m.SizeBytes < 0 || m.Mode < 0 || m.Mode > 0o7777 {
				return fmt.Errorf("tmpfs mount on %s: no source, a size of 0 or more and a mode of 0 to 07777: %w", dst, errdefs.ErrInvalid)
			}
			for _, o := range m.Options {
				if !tmpfsOptions[o] {
					return fmt.Errorf("tmpfs mount on %s: option %q is not one of exec, noexec, suid, nosuid, dev, nodev, ro, rw, atime, noatime, relatime, strictatime: %w", dst, o, errdefs.ErrInvalid)
				}
			}
		default:
			return fmt.Errorf("mount type %q (want volume, bind or tmpfs): %w", m.Type, errdefs.ErrInvalid)
		}
	}
	return nil
}

// checkBind accepts a bind mount where guests share this backend's host, with Docker's rule for a missing
// source: made by -v (CreateSource), refused by --mount.
func (b *Backend) checkBind(m *models.Mount) error {
	if !b.cfg.HostBinds {
		return fmt.Errorf("bind mount of %s: %w: %w", m.Source, errBindsOnVSphere, errdefs.ErrInvalid)
	}
	if !path.IsAbs(m.Source) {
		return errdefs.Classed(fmt.Errorf("invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", m.Source), errdefs.ErrInvalid)
	}
	if _, err := os.Stat(m.Source); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("bind mount source %s: %w", m.Source, errdefs.Classed(err, errdefs.ErrInvalid))
		}
		if !m.CreateSource {
			return errdefs.Classed(fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", m.Source), errdefs.ErrInvalid)
		}
	}
	return nil
}

// planMounts resolves the spec's volumes to their disks and gives each a unit, and returns the tether's
// mounts, parents first.
func (b *Backend) planMounts(ctx context.Context, mounts []*models.Mount) ([]attachedVolume, []wire.Mount, error) {
	var disks []attachedVolume
	var guest []wire.Mount
	unit := int32(wire.FirstVolumeUnit)
	for _, m := range mounts {
		gm := wire.Mount{Type: m.Type, Source: m.Source, Destination: path.Clean(m.Destination), ReadOnly: m.ReadOnly,
			NoCopy: m.NoCopy, CreateSource: m.CreateSource, SizeBytes: m.SizeBytes, Mode: uint32(m.Mode), Options: m.Options}
		if m.Type == wire.MountVolume {
			rec, err := b.findVolume(ctx, m.Source)
			if err != nil {
				return nil, nil, err
			}
			if s := rec.store; s.nfs() {
				gm.NFS = s.nfsSource(rec.Name)
				guest = append(guest, gm)
				continue
			}
			if unit == wire.ControllerUnit {
				unit++
			}
			if unit > wire.LastVolumeUnit {
				return nil, nil, fmt.Errorf("a containerVM takes %d volumes at most: %w", wire.LastVolumeUnit-wire.FirstVolumeUnit, errdefs.ErrInvalid)
			}
			s := rec.store
			disks = append(disks, attachedVolume{name: rec.Name, file: s.files.ds.Path(s.descriptor(rec.Name)),
				ds: s.files.ds.Reference(), unit: unit})
			gm.Disk, gm.FSType = "0:"+strconv.Itoa(int(unit)), rec.FSType
			unit++
		}
		guest = append(guest, gm)
	}
	// Parents first: by the number of path elements, then as given.
	sort.SliceStable(guest, func(i, j int) bool {
		return strings.Count(guest[i].Destination, "/") < strings.Count(guest[j].Destination, "/")
	})
	return disks, guest, nil
}

// volumeDevice is the disk of v on the containerVM's SCSI controller: independent-persistent, so the VM's
// snapshots and its removal leave it alone.
func volumeDevice(v attachedVolume, controllerKey, key int32) *types.VirtualDisk {
	ds := v.ds
	unit := v.unit
	return &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Key:           key,
			ControllerKey: controllerKey,
			UnitNumber:    &unit,
			Backing: &types.VirtualDiskFlatVer2BackingInfo{
				DiskMode:                     string(types.VirtualDiskModeIndependent_persistent),
				ThinProvisioned:              types.NewBool(true),
				VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: v.file, Datastore: &ds},
			},
		},
	}
}

// mounts are the container's mounts as its guest configuration keeps them.
func (c *containerVM) mounts() []wire.Mount {
	var cfg wire.ContainerConfig
	_ = json.Unmarshal([]byte(c.extra[wire.KeyConfig]), &cfg)
	return cfg.Mounts
}

// diskVolumes are the names of the volumes whose disks the container has.
func (c *containerVM) diskVolumes() []string {
	var out []string
	for _, m := range c.mounts() {
		if m.Type == wire.MountVolume && m.Disk != "" {
			out = append(out, m.Source)
		}
	}
	return out
}

// volumeUsers are the containers (IDs) that have volume name; with runningOnly, those powered on.
func (b *Backend) volumeUsers(ctx context.Context, name string, runningOnly bool) ([]string, error) {
	all, err := b.containerVMs(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range all {
		if runningOnly && !c.on() {
			continue
		}
		for _, m := range c.mounts() {
			if m.Type == wire.MountVolume && m.Source == name {
				out = append(out, c.id())
				break
			}
		}
	}
	return out, nil
}

// checkWriters refuses to power c on while another powered-on containerVM has one of its volume disks: vSphere
// locks a disk to one running VM (no multi-writer), and the power-on would fail on the lock, or hang. A
// container whose process has exited is no writer: its guest is halting, and its VM is waited for (up to
// haltWait) to go off and free the disk.
func (b *Backend) checkWriters(ctx context.Context, c *containerVM) error {
	mine := c.diskVolumes()
	if len(mine) == 0 {
		return nil
	}
	all, err := b.containerVMs(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.id() == c.id() || !o.on() {
			continue
		}
		v, shared := sharedVolume(o.diskVolumes(), mine)
		if !shared {
			continue
		}
		if !o.state().Running {
			wctx, cancel := context.WithTimeout(ctx, haltWait)
			_, err := b.await(wctx, o.ref, func(o *containerVM) bool { return !o.on() })
			cancel()
			if err == nil || isGone(err) {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return fmt.Errorf("volume %s is in use by running container %s (%s): a vSphere disk has one writer at a time, so it cannot be attached to a second running container: %w",
			v, o.name(), o.id()[:shortIDLength], errdefs.ErrConflict)
	}
	return nil
}

// sharedVolume is a volume of theirs that is also one of mine.
func sharedVolume(theirs, mine []string) (string, bool) {
	for _, v := range theirs {
		if slices.Contains(mine, v) {
			return v, true
		}
	}
	return "", false
}
