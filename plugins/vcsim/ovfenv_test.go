package vcsim

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
)

// guestinfo.ovfEnv is what ESXi makes of it: written by the spec that creates a VM (or a reconfigure), kept
// in the VM's .vmx, and left out of every API read of the VM, whichever way the client reads it.
func TestOVFEnvStaysOutOfTheAPI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	inf, err := Start(ctx, Options{DatastoreDir: dir, DisableEmulator: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inf.Close)
	c, err := govmomi.NewClient(ctx, inf.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	folders, _ := dc.Folders(ctx)
	pool, err := f.DefaultResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const secret = "the-hidden-value"
	for _, vmx := range []string{"[datastore1] vm1/vm1.vmx", "[datastore1] vm2"} { // a .vmx path, a folder
		name := strings.Fields(strings.NewReplacer("[datastore1] ", "", "/", " ").Replace(vmx))[0]
		task, err := folders.VmFolder.CreateVM(ctx, types.VirtualMachineConfigSpec{
			Name: name, GuestId: "otherGuest64", Files: &types.VirtualMachineFileInfo{VmPathName: vmx},
			ExtraConfig: []types.BaseOptionValue{
				&types.OptionValue{Key: "guestinfo.visible", Value: "shown"},
				&types.OptionValue{Key: OVFEnvKey, Value: secret + name},
			},
		}, pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := task.WaitForResult(ctx)
		if err != nil {
			t.Fatal(err)
		}
		vm := object.NewVirtualMachine(c.Client, res.Result.(types.ManagedObjectReference))
		assertHidden(t, c, vm, secret)
		local := filepath.Join(dir, name, name+".vmx")
		if v, found, err := vmxfile.Get(local, OVFEnvKey); !found || err != nil || v != secret+name {
			t.Errorf("%s: the .vmx holds %q (%v, %v), want the spec's value", name, v, found, err)
		}

		// A reconfigure replaces it in the .vmx, and still shows nothing; an empty value removes it.
		task, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: OVFEnvKey, Value: secret + "-again"}}})
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		assertHidden(t, c, vm, secret)
		if v, _, _ := vmxfile.Get(local, OVFEnvKey); v != secret+"-again" {
			t.Errorf("%s: after a reconfigure the .vmx holds %q", name, v)
		}
		task, _ = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: OVFEnvKey, Value: ""}}})
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := vmxfile.Get(local, OVFEnvKey); found {
			t.Errorf("%s: an empty value left the key in the .vmx", name)
		}
	}
}

// assertHidden reads the VM's extraConfig the ways clients do: one property, the whole config, a container
// view; the visible key is there, the hidden value nowhere.
func assertHidden(t *testing.T, c *govmomi.Client, vm *object.VirtualMachine, secret string) {
	t.Helper()
	ctx := context.Background()
	var one, whole mo.VirtualMachine
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, vm.Reference(), []string{"config.extraConfig"}, &one); err != nil {
		t.Fatal(err)
	}
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, vm.Reference(), []string{"config"}, &whole); err != nil {
		t.Fatal(err)
	}
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	var all []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"config.extraConfig"}, &all); err != nil {
		t.Fatal(err)
	}
	reads := [][]types.BaseOptionValue{one.Config.ExtraConfig, whole.Config.ExtraConfig}
	for _, m := range all {
		reads = append(reads, m.Config.ExtraConfig)
	}
	for i, extra := range reads {
		dump := fmt.Sprint(optionValues(extra))
		if strings.Contains(dump, secret) || strings.Contains(strings.ToLower(dump), strings.ToLower(OVFEnvKey)) {
			t.Errorf("read %d shows the hidden key: %s", i, dump)
		}
		if i < 2 && !strings.Contains(dump, "guestinfo.visible:shown") {
			t.Errorf("read %d lost the other keys: %s", i, dump)
		}
	}
}

func optionValues(opts []types.BaseOptionValue) []string {
	var out []string
	for _, o := range opts {
		ov := o.GetOptionValue()
		out = append(out, fmt.Sprintf("%s:%v", ov.Key, ov.Value))
	}
	return out
}
