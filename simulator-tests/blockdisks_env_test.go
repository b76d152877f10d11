package simulatortests

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// The e2e tests run in the emulator's block-disk mode when VICE_BLOCK_DISKS=1 (vchwire.BlockDisksEnv): the
// layer and container disks are real disk images, written by the endpoint through disks hot-added to its VM,
// and containerVMs boot from their disk's filesystem. The endpoint runs on this host, so a powered-on VM
// stands for it (--endpoint-vm).

const endpointVMName = "vch-e2e-endpoint"

func blockDisks() bool { return os.Getenv(vchwire.BlockDisksEnv) == "1" }

// blockDiskArgs makes the endpoint VM in block-disk mode and returns the plugin's arguments naming it.
func blockDiskArgs(t *testing.T, v *vch) []string {
	t.Helper()
	if !blockDisks() {
		return nil
	}
	for _, tool := range []string{"qemu-storage-daemon", "qemu-img"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("block-disk mode needs %s (.ci/run installs QEMU)", tool)
		}
	}
	vm := createEndpointVM(t, v.vcsimURL)
	return []string{"--endpoint-vm", vm.InventoryPath}
}

// vcsimClient logs in to the simulator for the test's own checks.
func vcsimClient(t *testing.T, rawURL string) *govmomi.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return c
}

// createEndpointVM makes and powers on a VM without disks in the default datacenter.
func createEndpointVM(t *testing.T, rawURL string) *object.VirtualMachine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := vcsimClient(t, rawURL)
	f := find.NewFinder(c.Client)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := f.DefaultResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.Datastore(ctx, "datastore1")
	if err != nil {
		t.Fatal(err)
	}
	task, err := folders.VmFolder.CreateVM(ctx, types.VirtualMachineConfigSpec{Name: endpointVMName,
		GuestId: "otherLinux64Guest", Files: &types.VirtualMachineFileInfo{VmPathName: ds.Path(endpointVMName)}}, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := object.NewVirtualMachine(c.Client, res.Result.(types.ManagedObjectReference))
	vm.InventoryPath = folders.VmFolder.InventoryPath + "/" + endpointVMName
	if task, err = vm.PowerOn(ctx); err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// endpointDisks are the disks attached to the endpoint VM, read from vSphere with govmomi.
func endpointDisks(t *testing.T, rawURL string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := vcsimClient(t, rawURL)
	f := find.NewFinder(c.Client)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(ctx, endpointVMName)
	if err != nil {
		t.Fatal(err)
	}
	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range devices.SelectByType((*types.VirtualDisk)(nil)) {
		if fb, ok := d.(*types.VirtualDisk).Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
			out = append(out, fb.FileName)
		}
	}
	return out
}
