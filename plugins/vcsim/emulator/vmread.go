package emulator

import (
	"bytes"
	"context"
	"fmt"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// readVM reads what a boot (vmProperties) and the rewiring of a running guest's vNICs need of vm: its name,
// UUID, size, devices, extraConfig and power state. With the simulator in this process (Config.Registry)
// it copies them from the simulator's VM under the VM's lock, as ESXi's VMX has its own VM's configuration
// at hand, without a property collector's round trip; else it reads them through the API.
func (e *Emulator) readVM(ctx context.Context, ref types.ManagedObjectReference) (mo.VirtualMachine, error) {
	if reg := e.cfg.Registry; reg != nil {
		return copyVM(reg, ref)
	}
	var vm mo.VirtualMachine
	err := property.DefaultCollector(e.client).RetrieveOne(ctx, ref, append(vmProperties, "runtime.powerState"), &vm)
	return vm, err
}

// copyVM copies ref's configuration out of the simulator's registry, deep enough that the simulator's
// later changes of the VM (a reconfigure edits its devices and extraConfig in place) do not reach the copy.
func copyVM(reg *simulator.Registry, ref types.ManagedObjectReference) (mo.VirtualMachine, error) {
	obj := reg.Get(ref)
	if obj == nil {
		return mo.VirtualMachine{}, fmt.Errorf("%s: %w", ref, errVMGone)
	}
	var out mo.VirtualMachine
	var err error
	reg.WithLock(&simulator.Context{Map: reg}, obj, func() {
		vm := asVM(obj)
		if vm == nil {
			err = fmt.Errorf("%s is not a VM", ref)
			return
		}
		out.Self, out.Name = vm.Self, vm.Name
		out.Runtime.PowerState = vm.Runtime.PowerState
		if vm.Config == nil {
			return
		}
		c := &types.VirtualMachineConfigInfo{Uuid: vm.Config.Uuid}
		c.Files.VmPathName = vm.Config.Files.VmPathName
		c.Hardware.NumCPU, c.Hardware.MemoryMB = vm.Config.Hardware.NumCPU, vm.Config.Hardware.MemoryMB
		c.ExtraConfig = copyOptions(vm.Config.ExtraConfig)
		if c.Hardware.Device, err = copyDevices(vm.Config.Hardware.Device); err != nil {
			err = fmt.Errorf("copy %s's devices: %w", ref, err)
			return
		}
		out.Config = c
	})
	return out, err
}

// errVMGone is a VM no longer in the simulator's registry.
var errVMGone = fmt.Errorf("the VM is gone")

// copyOptions copies extraConfig's entries: the simulator sets a changed key's value in its entry.
func copyOptions(opts []types.BaseOptionValue) []types.BaseOptionValue {
	out := make([]types.BaseOptionValue, 0, len(opts))
	for _, o := range opts {
		if v := o.GetOptionValue(); v != nil {
			c := *v
			out = append(out, &c)
		}
	}
	return out
}

// copyDevices deep-copies devices the way the simulator copies what its property collector returns:
// through their XML encoding, which knows every device and backing type.
func copyDevices(devices []types.BaseVirtualDevice) ([]types.BaseVirtualDevice, error) {
	b, err := xml.Marshal(types.ArrayOfVirtualDevice{VirtualDevice: devices})
	if err != nil {
		return nil, err
	}
	var out types.ArrayOfVirtualDevice
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.TypeFunc = types.TypeFunc()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if out.VirtualDevice == nil {
		out.VirtualDevice = []types.BaseVirtualDevice{}
	}
	return out.VirtualDevice, nil
}
