package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// inProcess is a simulator served over HTTPS, an emulator in its process (its registry and service), and
// a client of the simulator's own, as the backend would be.
type inProcess struct {
	reg    *simulator.Registry
	e      *Emulator
	rec    *recorder
	client *vim25.Client
	vm     types.ManagedObjectReference // a plain VM, powered on: its guest leaves it alone
}

func startInProcess(t *testing.T) *inProcess {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.TLS = new(tls.Config)
	s := m.Service.NewServer()
	t.Cleanup(func() {
		s.Close()
		m.Remove()
	})
	p := &inProcess{reg: m.Service.Context.Map, rec: &recorder{}}
	for _, e := range p.reg.All("VirtualMachine") {
		if vm := e.(*simulator.VirtualMachine); vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			p.vm = vm.Self
			break
		}
	}
	if p.vm.Value == "" {
		t.Fatal("the model has no powered-on VM")
	}
	var err error
	p.e, err = Start(context.Background(), Config{URL: s.URL, RunDir: filepath.Join(t.TempDir(), "emu"),
		Logger: slog.New(p.rec), Registry: p.reg, Service: m.Service})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.e.Close)
	c, err := govmomi.NewClient(context.Background(), s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	p.client = c.Client
	return p
}

// callsOverHTTP counts the emulator's calls of method that went over its URL rather than in process.
func (p *inProcess) callsOverHTTP(method string) int {
	p.rec.mu.Lock()
	defer p.rec.mu.Unlock()
	n := 0
	for _, r := range p.rec.records {
		if r["msg"] == "vsphere call" && r["method"] == method && r["inProcess"] != "true" {
			n++
		}
	}
	return n
}

// A guest's guestinfo write with the simulator in process is a reconfigure of the VM that another client's
// property collector sees, made without a call over HTTPS; it is applied when the write returns.
func TestGuestInfoWriteInProcess(t *testing.T) {
	p := startInProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const key, value = "guestinfo.vice.test", "running"

	seen := make(chan error, 1)
	filtering := make(chan struct{})
	go func() {
		pc := property.DefaultCollector(p.client)
		first := true
		seen <- property.Wait(ctx, pc, p.vm, []string{"config.extraConfig"}, func(changes []types.PropertyChange) bool {
			if first {
				first = false
				close(filtering)
			}
			for _, c := range changes {
				if opts, ok := c.Val.(types.ArrayOfOptionValue); ok {
					if v, found := optionValue(opts.OptionValue, key); found && v == value {
						return true
					}
				}
			}
			return false
		})
	}()
	<-filtering // the collector has the VM's extraConfig as it was before the write

	g := newGuest(p.e, p.vm, nil)
	if err := g.setExtraConfig(ctx, key, value); err != nil {
		t.Fatalf("write: %v", err)
	}
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(p.client).RetrieveOne(ctx, p.vm, []string{"config.extraConfig"}, &vm); err != nil {
		t.Fatal(err)
	}
	if v, found := optionValue(vm.Config.ExtraConfig, key); !found || v != value {
		t.Fatalf("after the write the VM has %s=%q (found %v), want %q", key, v, found, value)
	}
	if err := <-seen; err != nil {
		t.Fatalf("another client's property collector did not see the write: %v", err)
	}
	if got, _, err := g.getExtraConfig(ctx, key); err != nil || got != value {
		t.Fatalf("the guest reads %q, %v back, want %q", got, err, value)
	}
	for _, method := range []string{"ReconfigVM_Task", "RetrievePropertiesEx"} {
		if n := p.callsOverHTTP(method); n != 0 {
			t.Errorf("the write called %s over HTTPS %d times, want none", method, n)
		}
	}
	if n := p.rec.count("vsphere call", "method", "ReconfigVM_Task"); n != 1 {
		t.Errorf("%d reconfigures in the log, want 1", n)
	}
}

// A task still running when the in-process wait begins is waited for until it ends; a failed one gives
// the fault vSphere reported, as a task.Error, as vtask.Wait would.
func TestInProcessTaskWait(t *testing.T) {
	simulator.TaskDelay.MethodDelay = map[string]int{"ReconfigVm": 200, "LockHandoff": 0}
	t.Cleanup(func() { simulator.TaskDelay.MethodDelay = nil })
	p := startInProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	g := newGuest(p.e, p.vm, nil)
	began := time.Now()
	if err := g.setExtraConfig(ctx, "guestinfo.vice.slow", "1"); err != nil {
		t.Fatalf("write: %v", err)
	}
	if d := time.Since(began); d < 200*time.Millisecond {
		t.Fatalf("the write returned after %v, before its task could end", d)
	}
	if v, found, err := g.getExtraConfig(ctx, "guestinfo.vice.slow"); err != nil || !found || v != "1" {
		t.Fatalf("after the write: %q %v %v", v, found, err)
	}

	if err := p.e.runTask(ctx, func(c *vim25.Client) (*object.Task, error) {
		return object.NewVirtualMachine(c, p.vm).PowerOff(ctx)
	}); err != nil {
		t.Fatalf("power off: %v", err)
	}
	err := p.e.runTask(ctx, func(c *vim25.Client) (*object.Task, error) {
		return object.NewVirtualMachine(c, p.vm).PowerOff(ctx)
	})
	var te task.Error
	if !errors.As(err, &te) || !fault.Is(err, &types.InvalidPowerState{}) {
		t.Fatalf("powering off a VM that is off: %T %v, want a task.Error with InvalidPowerState", err, err)
	}
	if n := p.callsOverHTTP("PowerOffVM_Task"); n != 0 {
		t.Errorf("%d power-offs over HTTPS, want none", n)
	}
}

// The boot's read of its VM from the registry holds what the API returns, and is a copy: the VM's later
// reconfigures (its extraConfig, its devices) do not change it.
func TestCopyVM(t *testing.T) {
	p := startInProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vmo := object.NewVirtualMachine(p.client, p.vm)
	reconfigure := func(spec types.VirtualMachineConfigSpec) {
		t.Helper()
		task, err := vmo.Reconfigure(ctx, spec)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	reconfigure(types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
		&types.OptionValue{Key: "guestinfo.vice.id", Value: "before"}}})

	got, err := copyVM(p.reg, p.vm)
	if err != nil {
		t.Fatal(err)
	}
	var api mo.VirtualMachine
	if err := property.DefaultCollector(p.client).RetrieveOne(ctx, p.vm, append(vmProperties, "runtime.powerState"), &api); err != nil {
		t.Fatal(err)
	}
	if got.Name != api.Name || got.Config.Uuid != api.Config.Uuid || got.Config.Hardware.NumCPU != api.Config.Hardware.NumCPU ||
		got.Config.Hardware.MemoryMB != api.Config.Hardware.MemoryMB || got.Runtime.PowerState != api.Runtime.PowerState {
		t.Fatalf("copy %+v differs from the API's read %+v", got, api)
	}
	if !reflect.DeepEqual(got.Config.Hardware.Device, api.Config.Hardware.Device) {
		t.Fatalf("devices differ from the API's read:\n%#v\n%#v", got.Config.Hardware.Device, api.Config.Hardware.Device)
	}
	if !reflect.DeepEqual(got.Config.ExtraConfig, api.Config.ExtraConfig) {
		t.Fatalf("extraConfig differs from the API's read:\n%#v\n%#v", got.Config.ExtraConfig, api.Config.ExtraConfig)
	}
	before := append([]types.BaseVirtualDevice(nil), api.Config.Hardware.Device...)

	// The simulator changes its VM's extraConfig and devices after the copy: a value, and a vNIC edited in
	// place and another one added.
	var nic types.BaseVirtualDevice
	for _, d := range got.Config.Hardware.Device {
		if _, ok := d.(types.BaseVirtualEthernetCard); ok {
			nic = d
			break
		}
	}
	if nic == nil {
		t.Fatal("the VM has no vNIC")
	}
	edited := copyDevices([]types.BaseVirtualDevice{nic})
	card := edited[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
	card.MacAddress = "00:50:56:00:00:99"
	card.AddressType = string(types.VirtualEthernetCardMacTypeManual)
	reconfigure(types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "guestinfo.vice.id", Value: "after"}},
		DeviceChange: []types.BaseVirtualDeviceConfigSpec{
			&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: edited[0]},
		},
	})
	if v, _ := optionValue(got.Config.ExtraConfig, "guestinfo.vice.id"); v != "before" {
		t.Errorf("the copy's extraConfig changed with the VM: %q", v)
	}
	if !reflect.DeepEqual(got.Config.Hardware.Device, before) {
		t.Errorf("the copy's devices changed with the VM")
	}
	// Nor does a change made in place, in the simulator's own objects.
	again, err := copyVM(p.reg, p.vm)
	if err != nil {
		t.Fatal(err)
	}
	var want mo.VirtualMachine
	if err := property.DefaultCollector(p.client).RetrieveOne(ctx, p.vm, vmProperties, &want); err != nil {
		t.Fatal(err)
	}
	obj := p.reg.Get(p.vm).(*simulator.VirtualMachine)
	p.reg.WithLock(&simulator.Context{Map: p.reg}, obj, func() {
		for _, o := range obj.Config.ExtraConfig {
			o.GetOptionValue().Value = "in place"
		}
		for _, d := range obj.Config.Hardware.Device {
			d.GetVirtualDevice().Key += 1000
			if b, ok := d.GetVirtualDevice().Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
				b.GetVirtualDeviceFileBackingInfo().FileName = "in place"
			}
		}
	})
	if v, _ := optionValue(again.Config.ExtraConfig, "guestinfo.vice.id"); v != "after" {
		t.Errorf("the copy's extraConfig changed in place with the VM's: %q", v)
	}
	if !reflect.DeepEqual(again.Config.Hardware.Device, want.Config.Hardware.Device) {
		t.Error("the copy's devices changed in place with the VM's")
	}
	p.reg.WithLock(&simulator.Context{Map: p.reg}, obj, func() {
		for _, o := range obj.Config.ExtraConfig {
			if o.GetOptionValue().Key == "guestinfo.vice.id" {
				o.GetOptionValue().Value = "after"
			}
		}
		for _, d := range obj.Config.Hardware.Device {
			d.GetVirtualDevice().Key -= 1000
		}
	})

	now, err := copyVM(p.reg, p.vm)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := optionValue(now.Config.ExtraConfig, "guestinfo.vice.id"); v != "after" {
		t.Errorf("a new copy has guestinfo.vice.id=%q, want the VM's new value", v)
	}
	found := false
	for _, d := range now.Config.Hardware.Device {
		if c, ok := d.(types.BaseVirtualEthernetCard); ok && c.GetVirtualEthernetCard().MacAddress == "00:50:56:00:00:99" {
			found = true
		}
	}
	if !found {
		t.Error("a new copy does not have the edited vNIC")
	}

	if _, err := copyVM(p.reg, types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-gone"}); err == nil {
		t.Error("a VM not in the registry was copied")
	}
}

// deepCopy shares nothing that can change with its source: pointers, slices, interfaces and maps are new,
// values (time.Time's unexported fields too) are as they were, and nil stays nil.
func TestDeepCopy(t *testing.T) {
	when := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	type inner struct {
		N    *int32
		Tags []string
		Any  types.AnyType
		M    map[string]*types.OptionValue
		When time.Time
		Nil  *types.Description
		Arr  [2]*int32
	}
	n, m := int32(1), int32(2)
	src := []*inner{{N: &n, Tags: []string{"a"}, Any: &types.OptionValue{Key: "k", Value: "v"},
		M: map[string]*types.OptionValue{"x": {Key: "x"}}, When: when, Arr: [2]*int32{&m, nil}}, nil}
	got := deepCopy(src)
	if !reflect.DeepEqual(got, src) {
		t.Fatalf("copy %#v differs from %#v", got, src)
	}
	n, m = 10, 20
	src[0].Tags[0] = "changed"
	src[0].Any.(*types.OptionValue).Value = "changed"
	src[0].M["x"].Key = "changed"
	src[1] = &inner{}
	g := got[0]
	if *g.N != 1 || g.Tags[0] != "a" || g.Any.(*types.OptionValue).Value != "v" || g.M["x"].Key != "x" ||
		*g.Arr[0] != 2 || got[1] != nil || !g.When.Equal(when) || g.Nil != nil {
		t.Fatalf("the copy changed with its source: %#v", g)
	}
	if d := copyDevices(nil); d == nil || len(d) != 0 {
		t.Fatalf("no devices copy as %#v, want an empty list", d)
	}
}

// panicking is a round tripper whose method panics, as a simulator's method with a bug would.
type panicking struct{}

func (panicking) RoundTrip(context.Context, soap.HasFault, soap.HasFault) error { panic("a bug") }

// A panic in the simulator's method called in process is that call's error, not the end of the process.
func TestInProcessPanicIsAnError(t *testing.T) {
	req := &methods.ReconfigVM_TaskBody{Req: &types.ReconfigVM_Task{}}
	err := recovering{panicking{}}.RoundTrip(context.Background(), req, &methods.ReconfigVM_TaskBody{})
	if err == nil || !strings.Contains(err.Error(), "a bug") || !strings.Contains(err.Error(), "ReconfigVM_Task") {
		t.Fatalf("err %v, want the panic as an error naming the method", err)
	}
}
