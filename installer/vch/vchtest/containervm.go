package vchtest

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// ContainerVM makes a running containerVM in the VCH's pool, as the backend would.
func (s *Sim) ContainerVM(t *testing.T, vchName, name string) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	f := s.Finder(t)
	vch, err := f.VirtualMachine(ctx, vchName)
	if err != nil {
		t.Fatal(err)
	}
	var vmo mo.VirtualMachine
	if err := vch.Properties(ctx, vch.Reference(), []string{"resourcePool"}, &vmo); err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name: name, GuestId: "other3xLinux64Guest", NumCPUs: 1, MemoryMB: 64,
		Files:       &types.VirtualMachineFileInfo{VmPathName: "[datastore1] " + name + "/" + name + ".vmx"},
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: wire.KeyID, Value: strings.Repeat("a", 64)}},
	}
	var task *object.Task
	if vmo.ResourcePool.Type == "VirtualApp" {
		task, err = object.NewVirtualApp(s.Client, *vmo.ResourcePool).CreateChildVM(ctx, spec, nil)
	} else {
		dc, _ := f.DefaultDatacenter(ctx)
		folders, _ := dc.Folders(ctx)
		task, err = folders.VmFolder.CreateVM(ctx, spec, object.NewResourcePool(s.Client, *vmo.ResourcePool), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	vm := object.NewVirtualMachine(s.Client, info.Result.(types.ManagedObjectReference))
	task, err = vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return vm
}
