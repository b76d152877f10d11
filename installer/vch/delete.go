package vch

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Delete removes a VCH: its containerVMs (running ones only with Force), the endpoint VM, the pool, the
// VCH's datastore folder and its image store; the volume stores are kept, and returned.
func (m *Manager) Delete(ctx context.Context, o DeleteOptions) (*DeleteResult, error) {
	log := m.log()
	ctx, s, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer done()
	vms, err := s.poolVMs(ctx, v)
	if err != nil {
		return nil, err
	}
	var containers []mo.VirtualMachine
	running := 0
	for _, vm := range vms {
		if vm.Self.Value == v.ID {
			continue
		}
		containers = append(containers, vm)
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
			running++
		}
	}
	if running > 0 && !o.Force {
		return nil, fmt.Errorf("Delete failed: %d containers are running; use --force to power them off and delete them with the VCH", running)
	}

	store, err := s.imageStore(ctx, v)
	if err != nil {
		return nil, err
	}
	files := s.files(v.Datacenter, store)

	if len(containers) > 0 {
		log.Infof("Removing VMs")
	}
	for _, c := range containers {
		log.Infof("  %q", c.Name)
		if err := destroyContainerVM(ctx, object.NewVirtualMachine(s.Client, c.Self)); err != nil {
			return nil, fmt.Errorf("remove containerVM %q: %w; run delete again to finish", c.Name, err)
		}
	}

	log.Infof("Removing appliance VM %q", v.Name)
	if err := destroyVM(ctx, v.VM); err != nil {
		return nil, fmt.Errorf("remove the endpoint VM: %w; run delete again to finish", err)
	}

	log.Infof("Removing images")
	if err := removeImages(ctx, files, v.Name); err != nil {
		return nil, fmt.Errorf("%w; run delete again to finish", err)
	}
	log.Infof("Removing VCH folder %s", files.path(v.Name))
	if err := files.remove(ctx, v.Name); err != nil {
		return nil, fmt.Errorf("%w; run delete again to finish", err)
	}

	if v.Pool != nil && (v.Pool.Reference().Type == "VirtualApp" || v.Pool.Reference().Type == "ResourcePool") {
		if err := s.removePool(ctx, v, log); err != nil {
			return nil, err
		}
	}
	return &DeleteResult{VolumeStores: v.Config.VolumeStores}, nil
}

// removePool destroys the VCH's pool when it is empty and not a root pool.
func (s *Session) removePool(ctx context.Context, v *VCH, log Progress) error {
	var rp mo.ResourcePool
	if err := v.Pool.Properties(ctx, v.Pool.Reference(), []string{"vm", "resourcePool", "parent", "name"}, &rp); err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("read pool %s: %w", v.Pool.InventoryPath, err)
	}
	if rp.Parent == nil || strings.HasSuffix(rp.Parent.Type, "ComputeResource") {
		return nil // a root pool is never the VCH's
	}
	if len(rp.Vm) > 0 || len(rp.ResourcePool) > 0 {
		log.Warnf("%s %s is not empty (%d VMs, %d pools); it is kept", kind(v.Pool.Reference().Type), v.Pool.InventoryPath, len(rp.Vm), len(rp.ResourcePool))
		return nil
	}
	log.Infof("Removing %s %q", kind(v.Pool.Reference().Type), path.Base(v.Pool.InventoryPath))
	if err := destroyPool(ctx, v.Pool); err != nil {
		return fmt.Errorf("remove %s %s: %w", kind(v.Pool.Reference().Type), v.Pool.InventoryPath, err)
	}
	return nil
}

// destroyContainerVM destroys a containerVM, its volumes' disks detached first: vSphere's Destroy deletes
// every disk a VM has, independent ones too, and the volumes outlive the VCH.
func destroyContainerVM(ctx context.Context, vm *object.VirtualMachine) error {
	if err := powerOff(ctx, vm); err != nil {
		return err
	}
	devices, err := vm.Device(ctx)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for _, d := range devices.SelectByType((*types.VirtualDisk)(nil)) {
		if fb, ok := d.(*types.VirtualDisk).Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok &&
			fb.DiskMode == string(types.VirtualDiskModeIndependent_persistent) {
			changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: d})
		}
	}
	if len(changes) > 0 {
		task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: changes})
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("detach its volumes: %w", err)
		}
	}
	return destroyVM(ctx, vm)
}

// powerOff powers vm off unless it is off already.
func powerOff(ctx context.Context, vm *object.VirtualMachine) error {
	state, err := vm.PowerState(ctx)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	if state == types.VirtualMachinePowerStatePoweredOff {
		return nil
	}
	task, err := vm.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isInvalidPowerState(err) {
		return fmt.Errorf("power off: %w", err)
	}
	return nil
}

// destroyVM powers a VM off when needed and destroys it with its files.
func destroyVM(ctx context.Context, vm *object.VirtualMachine) error {
	state, err := vm.PowerState(ctx)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	if state != types.VirtualMachinePowerStatePoweredOff {
		task, err := vm.PowerOff(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil && !isInvalidPowerState(err) {
			return fmt.Errorf("power off: %w", err)
		}
	}
	task, err := vm.Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
