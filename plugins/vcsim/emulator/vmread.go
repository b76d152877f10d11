package emulator

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
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
// later changes of the VM (a reconfigure replaces or removes entries of its device and extraConfig slices,
// and may edit what they point to) do not reach the copy.
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
		c.Hardware.Device = copyDevices(vm.Config.Hardware.Device)
		out.Config = c
	})
	return out, err
}

// errVMGone is a VM no longer in the simulator's registry.
var errVMGone = errors.New("the VM is gone")

// copyOptions copies extraConfig's entries: the simulator replaces and removes entries in its own slice.
func copyOptions(opts []types.BaseOptionValue) []types.BaseOptionValue {
	return deepCopy(opts)
}

// copyDevices deep-copies devices, whatever their types and backings.
func copyDevices(devices []types.BaseVirtualDevice) []types.BaseVirtualDevice {
	if devices == nil {
		return []types.BaseVirtualDevice{}
	}
	return deepCopy(devices)
}

// deepCopy copies v so that no pointer, slice or interface of the copy is shared with v. It is meant for
// the vSphere API's data objects (trees of structs, no cycles, exported fields only): the simulator's
// property collector copies them through their XML encoding, which costs it fifty times as much.
func deepCopy[T any](v T) T {
	return cloneValue(reflect.ValueOf(&v).Elem()).Interface().(T)
}

// cloneValue is deepCopy of one value. Unexported fields (time.Time's, say) are copied as they are.
func cloneValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(cloneValue(v.Elem()))
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(cloneValue(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(cloneValue(v.Index(i)))
		}
		return c
	case reflect.Array:
		c := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			c.Index(i).Set(cloneValue(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(cloneValue(it.Key()), cloneValue(it.Value()))
		}
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		t := v.Type()
		for i := range v.NumField() {
			if t.Field(i).IsExported() {
				c.Field(i).Set(cloneValue(v.Field(i)))
			}
		}
		return c
	}
	return v // a boolean, number or string: a value
}
