package simulatortests

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// TestContainerVMInventory checks, straight from the simulator's inventory, what `docker create/start/rm`
// leaves in vSphere: a VM in the VCH pool with the guestinfo keys, the serial URI back to the VCH, the
// bootstrap.iso cdrom and a disk whose parent is the image's top layer; off once its process exited; gone
// after docker rm.
func TestContainerVMInventory(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	id := strings.TrimSpace(g.ok(t, "create", "--name", "inv", bb, "echo", "from-a-vm"))
	if out := g.ok(t, "start", "-a", "inv"); !strings.Contains(out, "from-a-vm") {
		t.Fatalf("start -a: %q", out)
	}
	top := strings.TrimPrefix(strings.TrimSpace(g.ok(t, "image", "inspect", "--format", "{{index .RootFS.Layers 0}}", bb)), "sha256:")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := url.Parse(g.vcsimURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)

	var vm *mo.VirtualMachine
	waitFor(t, 15*time.Second, "the containerVM to power off", func() bool {
		vm = findContainerVM(ctx, t, c, id)
		return vm != nil && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOff
	})
	if !strings.HasPrefix(vm.Name, "inv-") {
		t.Errorf("VM name %q", vm.Name)
	}
	var pool mo.ResourcePool
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, *vm.ResourcePool, []string{"name"}, &pool); err != nil || pool.Name != "vch-e2e" {
		t.Errorf("the VM is in pool %q (%v), want the VCH pool vch-e2e", pool.Name, err)
	}
	extra := map[string]string{}
	for _, o := range vm.Config.ExtraConfig {
		if v := o.GetOptionValue(); v != nil {
			extra[v.Key], _ = v.Value.(string)
		}
	}
	if !strings.Contains(extra[wire.KeyConfig], "from-a-vm") || !strings.Contains(extra[wire.KeyStatus], `"exited"`) {
		t.Errorf("guestinfo: config %q, status %q", extra[wire.KeyConfig], extra[wire.KeyStatus])
	}

	var iso, uri, disk string
	for _, dev := range vm.Config.Hardware.Device {
		switch d := dev.(type) {
		case *types.VirtualCdrom:
			if b, ok := d.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
				iso = b.FileName
			}
		case *types.VirtualSerialPort:
			if b, ok := d.Backing.(*types.VirtualSerialPortURIBackingInfo); ok {
				uri = b.ServiceURI
			}
		case *types.VirtualDisk:
			if b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				disk = b.FileName
			}
		}
	}
	if !strings.HasSuffix(iso, "vch-e2e/bootstrap.iso") || !strings.HasPrefix(uri, "tcp://127.0.0.1:") || !strings.HasSuffix(disk, "/"+id+".vmdk") {
		t.Fatalf("devices: cdrom %q, serial %q, disk %q", iso, uri, disk)
	}
	// The disk's descriptor names the image's top layer disk as its parent.
	local := filepath.Join(g.dir, "datastore", strings.TrimSpace(disk[strings.Index(disk, "]")+1:]))
	desc, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`parentFileNameHint="([^"]+)"`).FindSubmatch(desc)
	if m == nil {
		t.Fatalf("the container disk has no parent:\n%s", desc)
	}
	parent := filepath.Clean(filepath.Join(filepath.Dir(local), string(m[1])))
	want := filepath.Join(g.dir, "datastore", "VIC", "vch-e2e", "images", top, top+".vmdk")
	if parent != want {
		t.Fatalf("the container disk's parent is %s, want the image's top layer %s", parent, want)
	}

	g.ok(t, "rm", "inv")
	waitFor(t, 15*time.Second, "the containerVM to go", func() bool { return findContainerVM(ctx, t, c, id) == nil })
}

// findContainerVM returns the VM whose guestinfo names the container, or nil.
func findContainerVM(ctx context.Context, t *testing.T, c *govmomi.Client, id string) *mo.VirtualMachine {
	t.Helper()
	finder := find.NewFinder(c.Client)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	vms, err := finder.VirtualMachineList(ctx, "*")
	if err != nil {
		return nil // none at all
	}
	refs := make([]types.ManagedObjectReference, len(vms))
	for i, v := range vms {
		refs[i] = v.Reference()
	}
	var all []mo.VirtualMachine
	if err := property.DefaultCollector(c.Client).Retrieve(ctx, refs, []string{"name", "config", "runtime.powerState", "resourcePool"}, &all); err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if all[i].Config == nil {
			continue
		}
		for _, o := range all[i].Config.ExtraConfig {
			if v := o.GetOptionValue(); v != nil && v.Key == wire.KeyID && v.Value == id {
				return &all[i]
			}
		}
	}
	return nil
}
