package vsphere

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
)

// Attaching disks to the endpoint VM (VIC's attach-to-self): a disk is added to the VM's paravirtual SCSI
// controller, created there as a child of its parent when asked (ESXi makes the delta disk), found in the
// guest by its UUID or SCSI address, used, and removed again without its files.

// deviceWait bounds how long the guest takes to show a disk that vSphere has attached.
const deviceWait = 2 * time.Minute

// diskAttach is a disk to attach.
type diskAttach struct {
	file     string // datastore path of the descriptor
	parent   string // datastore path of the parent's descriptor; "" for none
	create   bool   // make the disk (a child of parent, or a fresh one)
	readOnly bool   // independent-nonpersistent: nothing written reaches the disk
}

// attachedDisk is a disk attached to the endpoint VM and its block device there.
type attachedDisk struct {
	key    int32
	file   string
	uuid   string
	bus    int32
	unit   int32
	device string // "/dev/sdb", "/dev/loop3"
}

// attachDisk adds the disk to the endpoint VM and waits for its block device. A disk that does not show up
// is detached again.
func (b *Backend) attachDisk(ctx context.Context, a diskAttach) (*attachedDisk, error) {
	vm, err := b.endpointVM(ctx)
	if err != nil {
		return nil, err
	}
	d, err := b.addDisk(ctx, vm, a)
	if err != nil {
		return nil, err
	}
	b.log.Debug("waiting for the attached disk's device", "disk", d.file, "uuid", d.uuid, "bus", d.bus, "unit", d.unit)
	wctx, cancel := context.WithTimeout(ctx, deviceWait)
	defer cancel()
	d.device, err = findBlockDevice(wctx, d.uuid, d.bus, d.unit)
	if err != nil {
		if derr := b.removeDisks(context.WithoutCancel(ctx), vm, d.key); derr != nil {
			b.log.Warn("detach a disk that did not show up", "disk", d.file, "err", derr)
		}
		return nil, fmt.Errorf("attach %s: %w", a.file, err)
	}
	b.log.Debug("attached disk", "disk", d.file, "device", d.device, "uuid", d.uuid)
	return d, nil
}

// addDisk reconfigures vm with the disk and reads back what vSphere made of it.
func (b *Backend) addDisk(ctx context.Context, vm *object.VirtualMachine, a diskAttach) (*attachedDisk, error) {
	s := &b.layers.endpoint
	s.devMu.Lock()
	defer s.devMu.Unlock()
	devices, err := vm.Device(ctx)
	if err != nil {
		return nil, classify(err, "read the endpoint VM's devices")
	}
	ctrl, err := b.scsiController(ctx, vm, devices)
	if err != nil {
		return nil, err
	}
	if devices, err = vm.Device(ctx); err != nil {
		return nil, classify(err, "read the endpoint VM's devices")
	}
	// The image store's datastore is known; a volume store's may be another, which vSphere finds by name.
	var dsRef *types.ManagedObjectReference
	var p object.DatastorePath
	if p.FromString(a.file) && p.Datastore == b.where.datastore.Name() {
		ref := b.where.datastore.Reference()
		dsRef = &ref
	}
	mode := types.VirtualDiskModePersistent
	if a.readOnly {
		mode = types.VirtualDiskModeIndependent_nonpersistent
	}
	backing := &types.VirtualDiskFlatVer2BackingInfo{
		DiskMode:                     string(mode),
		ThinProvisioned:              types.NewBool(true),
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: a.file, Datastore: dsRef},
	}
	if a.parent != "" {
		backing.Parent = &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: a.parent, Datastore: dsRef},
		}
	}
	disk := &types.VirtualDisk{VirtualDevice: types.VirtualDevice{Key: -1, Backing: backing}}
	if a.create && a.parent == "" {
		disk.CapacityInKB = layerDiskCapacityKB
	}
	devices.AssignController(disk, ctrl)
	spec := &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: disk}
	if a.create {
		spec.FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
	}
	if err := b.reconfigureEndpoint(ctx, vm, spec); err != nil {
		return nil, fmt.Errorf("attach %s to the endpoint VM: %w", a.file, err)
	}
	if devices, err = vm.Device(ctx); err != nil {
		return nil, classify(err, "read the endpoint VM's devices")
	}
	for _, dev := range devices.SelectByType((*types.VirtualDisk)(nil)) {
		vd := dev.(*types.VirtualDisk)
		fb, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok || fb.FileName != a.file {
			continue
		}
		d := &attachedDisk{key: vd.Key, file: a.file, uuid: fb.Uuid}
		if vd.UnitNumber != nil {
			d.unit = *vd.UnitNumber
		}
		if c, ok := devices.FindByKey(vd.ControllerKey).(types.BaseVirtualSCSIController); ok {
			d.bus = c.GetVirtualSCSIController().BusNumber
		}
		return d, nil
	}
	return nil, fmt.Errorf("attach %s: the endpoint VM does not show the disk: %w", a.file, errdefs.ErrSystem)
}

// scsiController is the endpoint VM's paravirtual SCSI controller, added when it has none (vSphere hot-adds
// one to a running VM).
func (b *Backend) scsiController(ctx context.Context, vm *object.VirtualMachine, devices object.VirtualDeviceList) (types.BaseVirtualController, error) {
	for _, d := range devices.SelectByType((*types.ParaVirtualSCSIController)(nil)) {
		return d.(types.BaseVirtualController), nil
	}
	ctrl, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return nil, fmt.Errorf("a SCSI controller for the endpoint VM: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	spec := &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: ctrl}
	if err := b.reconfigureEndpoint(ctx, vm, spec); err != nil {
		return nil, fmt.Errorf("add a SCSI controller to the endpoint VM: %w", err)
	}
	devices, err = vm.Device(ctx)
	if err != nil {
		return nil, classify(err, "read the endpoint VM's devices")
	}
	for _, d := range devices.SelectByType((*types.ParaVirtualSCSIController)(nil)) {
		b.log.Info("added a paravirtual SCSI controller to the endpoint VM for layer disks")
		return d.(types.BaseVirtualController), nil
	}
	return nil, fmt.Errorf("the endpoint VM shows no SCSI controller after adding one: %w", errdefs.ErrSystem)
}

func (b *Backend) reconfigureEndpoint(ctx context.Context, vm *object.VirtualMachine, changes ...types.BaseVirtualDeviceConfigSpec) error {
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: changes})
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	return classify(err, "reconfigure the endpoint VM")
}

// detachDisk removes the disk from the endpoint VM, keeping its files. The guest lets go of the device first.
func (b *Backend) detachDisk(ctx context.Context, d *attachedDisk) error {
	releaseBlockDevice(d.device)
	vm, err := b.endpointVM(ctx)
	if err != nil {
		return err
	}
	if err := b.removeDisks(ctx, vm, d.key); err != nil {
		return fmt.Errorf("detach %s: %w", d.file, err)
	}
	if !waitDeviceGone(ctx, d.device, d.uuid) {
		b.log.Warn("a detached disk's device is still there", "disk", d.file, "device", d.device)
	}
	b.log.Debug("detached disk", "disk", d.file)
	return nil
}

// removeDisks removes the disks with the given keys from vm in one reconfigure, keeping their files.
func (b *Backend) removeDisks(ctx context.Context, vm *object.VirtualMachine, keys ...int32) error {
	s := &b.layers.endpoint
	s.devMu.Lock()
	defer s.devMu.Unlock()
	devices, err := vm.Device(ctx)
	if err != nil {
		return classify(err, "read the endpoint VM's devices")
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for _, k := range keys {
		if dev := devices.FindByKey(k); dev != nil {
			changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: dev})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	return b.reconfigureEndpoint(ctx, vm, changes...)
}

// containerDiskPattern is a containerVM's own disk, "<folder>/<container id>.vmdk".
var containerDiskPattern = regexp.MustCompile(`/[a-f0-9]{64}\.vmdk$`)

// detachLeftovers removes from the endpoint VM the disks a crashed write left attached: any disk of this
// VCH's image store, any disk in a temporary folder (a volume being made), and any containerVM disk (made by
// attaching it, then left). The guest's mounts of them went with the process that made them (mountDisk's
// namespace).
func (b *Backend) detachLeftovers(ctx context.Context) error {
	vm, err := b.endpointVM(ctx)
	if err != nil {
		return err
	}
	devices, err := vm.Device(ctx)
	if err != nil {
		return classify(err, "read the endpoint VM's devices")
	}
	images := b.where.datastore.Path(ImagesFolder(b.cfg.VCHName)) + "/"
	var keys []int32
	for _, dev := range devices.SelectByType((*types.VirtualDisk)(nil)) {
		vd := dev.(*types.VirtualDisk)
		fb, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		var p object.DatastorePath
		if !p.FromString(fb.FileName) {
			continue
		}
		clean := "/" + path.Clean(p.Path)
		if strings.HasPrefix(fb.FileName, images) || strings.Contains(clean, "/"+tmpPrefix) ||
			(p.Datastore == b.where.datastore.Name() && containerDiskPattern.MatchString(clean)) {
			b.log.Info("detaching a disk a crashed write left on the endpoint VM", "disk", fb.FileName)
			keys = append(keys, vd.Key)
		}
	}
	return b.removeDisks(ctx, vm, keys...)
}

// formatThroughEndpoint gives the existing, never written disk file (a datastore path) an empty ext4
// filesystem: attached to the endpoint VM, formatted, detached.
func (b *Backend) formatThroughEndpoint(ctx context.Context, file string) error {
	d, err := b.attachDisk(ctx, diskAttach{file: file})
	if err != nil {
		return err
	}
	ferr := formatDisk(d.device)
	if err := errors.Join(ferr, b.detachDisk(context.WithoutCancel(ctx), d)); err != nil {
		return fmt.Errorf("format %s: %w", file, err)
	}
	return nil
}
