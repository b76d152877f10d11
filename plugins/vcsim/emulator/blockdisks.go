package emulator

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmware/govmomi/vim25/types"
)

// In block-disk mode (Config.BlockDisks) a disk hot-added to a running VM that is not a containerVM (an
// appliance the emulator booted, or a VM standing for a host whose processes run on this machine) becomes a
// block device on this host, as ESXi hot-adds a disk to its guest: its chain is exported (exportDisk) under
// a name that is the disk's UUID, the serial number the guest finds it by. Removing the disk, powering the
// VM off or removing it takes the device away. Disks the VM had when it was first seen running are not
// hot-added ones and are left alone.

const disksDir = "disks"

// blockDisks follows the VMs' disks.
type blockDisks struct {
	e  *Emulator
	mu sync.Mutex
	vm map[string]*vmDisks
}

// vmDisks is one VM's known state and its exported disks; a worker applies the latest state.
type vmDisks struct {
	id      string
	on      bool
	gone    bool
	devices []types.BaseVirtualDevice
	dirty   bool
	working bool

	// Disks are known by their files: vSphere reuses a removed device's key for the next one.
	baseline map[string]bool // disks of the VM when it was first seen on; nil while off
	exports  map[string]*diskExport
	idle     chan struct{} // closed when no worker runs (for Close)
}

func newBlockDisks(e *Emulator) *blockDisks { return &blockDisks{e: e, vm: map[string]*vmDisks{}} }

// update records what changed of a VM: its power state (on nil: unchanged), its devices (nil: unchanged),
// or its removal.
func (b *blockDisks) update(id string, on *bool, devices []types.BaseVirtualDevice, gone bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.vm[id]
	if v == nil {
		if gone {
			return
		}
		v = &vmDisks{id: id, exports: map[string]*diskExport{}}
		b.vm[id] = v
	}
	if on != nil {
		v.on = *on
	}
	if devices != nil {
		v.devices = devices
	}
	v.gone = v.gone || gone
	v.dirty = true
	if !v.working {
		v.working = true
		v.idle = make(chan struct{})
		b.e.wg.Add(1)
		go func() {
			defer b.e.wg.Done()
			b.work(v)
		}()
	}
}

// work applies v's latest state until it stops changing.
func (b *blockDisks) work(v *vmDisks) {
	for {
		b.mu.Lock()
		if !v.dirty {
			v.working = false
			close(v.idle)
			if v.gone && len(v.exports) == 0 {
				delete(b.vm, v.id)
			}
			b.mu.Unlock()
			return
		}
		v.dirty = false
		on := v.on && !v.gone && b.e.ctx.Err() == nil
		devices := v.devices
		b.mu.Unlock()
		b.reconcile(v, on, devices)
	}
}

// reconcile exports the VM's hot-added disks and unexports the rest. Only the worker touches exports and
// baseline.
func (b *blockDisks) reconcile(v *vmDisks, on bool, devices []types.BaseVirtualDevice) {
	log := b.e.log.With("vmID", v.id)
	want := map[string]*types.VirtualDisk{}
	if on && !isContainerVM(devices) {
		disks := map[string]*types.VirtualDisk{}
		for _, d := range devices {
			if vd, ok := d.(*types.VirtualDisk); ok {
				if fb, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
					disks[fb.FileName] = vd
				}
			}
		}
		if v.baseline == nil {
			v.baseline = map[string]bool{}
			for k := range disks {
				v.baseline[k] = true
			}
		}
		for k, vd := range disks {
			if !v.baseline[k] {
				want[k] = vd
			}
		}
	}
	if !on {
		v.baseline = nil
	}
	// Each disk's device comes and goes on its own: a VM hot-adding many disks at once (a pull's layers,
	// containers being created) waits for none but its own.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k, x := range v.exports {
		if _, ok := want[k]; ok {
			continue
		}
		delete(v.exports, k)
		wg.Go(func() {
			if err := x.close(); err != nil {
				log.Warn("remove a disk's block device", "disk", x.desc, "err", err)
			} else {
				log.Info("disk removed from the VM: its block device is gone", "disk", x.desc, "device", x.loop)
			}
		})
	}
	for k, vd := range want {
		if _, ok := v.exports[k]; ok {
			continue
		}
		wg.Go(func() {
			x, err := b.export(vd)
			if err != nil {
				log.Error("give a hot-added disk to the VM", "err", err)
				return
			}
			log.Info("disk hot-added to the VM: a block device", "disk", x.desc, "device", x.loop, "readOnly", x.readOnly)
			mu.Lock()
			v.exports[k] = x
			mu.Unlock()
		})
	}
	wg.Wait()
}

// export realizes and exports one hot-added disk.
func (b *blockDisks) export(vd *types.VirtualDisk) (*diskExport, error) {
	ctx := b.e.ctx
	fb := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	desc, err := b.e.ds.local(ctx, fb.FileName)
	if err != nil {
		return nil, err
	}
	parent := ""
	if fb.Parent != nil && fb.Parent.FileName != "" {
		if parent, err = b.e.ds.local(ctx, fb.Parent.FileName); err != nil {
			return nil, err
		}
	}
	if err := realizeDisk(ctx, desc, parent); err != nil {
		return nil, err
	}
	readOnly := strings.HasPrefix(fb.DiskMode, "independent_nonpersistent") || fb.DiskMode == string(types.VirtualDiskModeNonpersistent)
	file := filepath.Join(b.e.cfg.RunDir, disksDir, diskSerial(fb.Uuid))
	return exportDisk(ctx, desc, file, readOnly)
}

// close takes every block device away, when the emulator stops.
func (b *blockDisks) close() {
	b.mu.Lock()
	var idle []chan struct{}
	for _, v := range b.vm {
		if v.working {
			idle = append(idle, v.idle)
		}
	}
	b.mu.Unlock()
	for _, ch := range idle {
		<-ch
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range b.vm {
		for k, x := range v.exports {
			if err := x.close(); err != nil {
				b.e.log.Warn("remove a disk's block device", "disk", x.desc, "err", err)
			}
			delete(v.exports, k)
		}
	}
}

// isContainerVM tells a containerVM by its bootstrap.iso CD-ROM: its disk is its guest's root, not a
// hot-added block device.
func isContainerVM(devices []types.BaseVirtualDevice) bool {
	for _, d := range devices {
		if c, ok := d.(*types.VirtualCdrom); ok {
			if b, ok := c.Backing.(*types.VirtualCdromIsoBackingInfo); ok && baseName(b.FileName) == bootstrapISO {
				return true
			}
		}
	}
	return false
}

// diskSerial is a disk UUID as a serial number: lowercase hex digits only ("6000C29a-..." → "6000c29a...").
func diskSerial(uuid string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(uuid) {
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') {
			b.WriteRune(c)
		}
	}
	return b.String()
}
