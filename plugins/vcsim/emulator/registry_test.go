package emulator

import (
	"context"
	"crypto/tls"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// An emulator given the simulator's registry hears of the VMs from it: the VMs already on when it starts,
// and every power change after, without a property collector of its own.
func TestFollowsTheRegistry(t *testing.T) {
	m := simulator.VPX() // its VMs are plain ones, powered on: each gets a guest that leaves it alone
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.TLS = new(tls.Config)
	s := m.Service.NewServer()
	t.Cleanup(func() {
		s.Close()
		m.Remove()
	})
	reg := m.Service.Context.Map
	var on []types.ManagedObjectReference
	for _, e := range reg.All("VirtualMachine") {
		if vm := e.(*simulator.VirtualMachine); vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			on = append(on, vm.Self)
		}
	}
	if len(on) == 0 {
		t.Fatal("the model has no powered-on VM")
	}

	rec := &recorder{}
	e, err := Start(context.Background(), Config{URL: s.URL, RunDir: filepath.Join(t.TempDir(), "emu"),
		Logger: slog.New(rec), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	for _, vm := range on {
		rec.waitFor(t, leftAlone, vm.Value, 1)
	}

	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	vm := object.NewVirtualMachine(c.Client, on[0])
	for _, power := range []func(context.Context) (*object.Task, error){vm.PowerOff, vm.PowerOn} {
		task, err := power(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rec.waitFor(t, leftAlone, on[0].Value, 2) // its second power-on

	for _, method := range []string{"CreatePropertyCollector", "CreateFilter", "WaitForUpdatesEx"} {
		if n := rec.count("vsphere call", "method", method); n != 0 {
			t.Errorf("the emulator called %s %d times: it follows the VMs in process", method, n)
		}
	}
}

// A VM's state read at the start replaces the changes queued for it before the read, which it includes.
func TestReconcileReplacesEarlierChanges(t *testing.T) {
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Remove)
	reg := m.Service.Context.Map
	vms := reg.All("VirtualMachine")
	a, b := vms[0].(*simulator.VirtualMachine), vms[1].(*simulator.VirtualMachine)
	h := newVMHook(false)
	h.push(vmChange{vm: a.Self, power: types.VirtualMachinePowerStatePoweredOn})
	h.push(vmChange{vm: b.Self, nics: true})
	h.push(vmChange{vm: a.Self, power: types.VirtualMachinePowerStatePoweredOff})
	reg.WithLock(&simulator.Context{Map: reg}, a, func() { a.Runtime.PowerState = types.VirtualMachinePowerStateSuspended })
	h.reconcile(reg, a)

	got := h.take(nil)
	want := []vmChange{
		{vm: b.Self, nics: true},
		{vm: a.Self, power: types.VirtualMachinePowerStateSuspended},
	}
	if !slices.EqualFunc(got, want, func(x, y vmChange) bool {
		return x.vm == y.vm && x.power == y.power && x.nics == y.nics && x.gone == y.gone
	}) {
		t.Fatalf("queue %+v, want %+v", got, want)
	}
}

// In block-disk mode the handler copies a VM's disks and CD-ROMs: the simulator's own go on changing.
func TestDevicesOfCopies(t *testing.T) {
	disk := &types.VirtualDisk{VirtualDevice: types.VirtualDevice{Key: 1, Backing: &types.VirtualDiskFlatVer2BackingInfo{
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: "[ds] a/a.vmdk"},
		Parent:                       &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: "[ds] p/p.vmdk"}},
	}}}
	cd := &types.VirtualCdrom{VirtualDevice: types.VirtualDevice{Key: 2, Backing: &types.VirtualCdromIsoBackingInfo{
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: "[ds] vch/bootstrap.iso"}}}}
	nic := &types.VirtualVmxnet3{}
	vm := &mo.VirtualMachine{Config: &types.VirtualMachineConfigInfo{Hardware: types.VirtualHardware{
		Device: []types.BaseVirtualDevice{disk, cd, nic}}}}

	got := devicesOf(vm)
	disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName = "changed"
	disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).Parent.FileName = "changed"
	cd.Backing.(*types.VirtualCdromIsoBackingInfo).FileName = "changed"
	if len(got) != 2 {
		t.Fatalf("devices %d, want the disk and the CD-ROM", len(got))
	}
	gd := got[0].(*types.VirtualDisk).Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if gd.FileName != "[ds] a/a.vmdk" || gd.Parent.FileName != "[ds] p/p.vmdk" || !isContainerVM(got) {
		t.Fatalf("copy changed with the original: disk %q parent %q, containerVM %v", gd.FileName, gd.Parent.FileName, isContainerVM(got))
	}
	if devicesOf(&mo.VirtualMachine{}) == nil {
		t.Fatal("a VM without a configuration has no devices, which is a change (non-nil)")
	}
}

// leftAlone is the emulator's line for a powered-on VM that is not a containerVM.
const leftAlone = "VM powered on; not a containerVM, left alone"

// recorder keeps the emulator's log records: each message with its attributes.
type recorder struct {
	mu      sync.Mutex
	records []map[string]string
	attrs   []slog.Attr // of a handler made by WithAttrs
	parent  *recorder
}

func (r *recorder) root() *recorder {
	for r.parent != nil {
		r = r.parent
	}
	return r
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message}
	for _, a := range r.attrs {
		m[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	root := r.root()
	root.mu.Lock()
	root.records = append(root.records, m)
	root.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{attrs: append(slices.Clone(r.attrs), attrs...), parent: r}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// count is how many records have msg and the attribute key=value.
func (r *recorder) count(msg, key, value string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.records {
		if m["msg"] == msg && m[key] == value {
			n++
		}
	}
	return n
}

// waitFor waits until n records have msg for the VM vmID.
func (r *recorder) waitFor(t *testing.T, msg, vmID string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.count(msg, "vmID", vmID) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %q for %s (%d of %d)", msg, vmID, r.count(msg, "vmID", vmID), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
