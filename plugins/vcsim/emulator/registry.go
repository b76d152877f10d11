package emulator

import (
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// When the simulator runs in this process (Config.Registry), the emulator hears of every VM's change as the
// simulator makes it, the way ESXi's hypervisor knows of its own VMs: a handler in the simulator's registry
// (vmHook) is called with each change of any object, within the simulator's call that made it. A powered-on
// VM's boot then starts as its power-on task ends, rather than on the simulator's next 20 ms tick of a
// property collector's WaitForUpdatesEx, and no collector of the emulator's makes the simulator copy every
// VM for each change of any object.
//
// The simulator names the changes the emulator follows so (govmomi's simulator/virtual_machine.go):
//   - a power-on, power-off or suspend (powerVMTask, ShutdownGuest, StandbyGuest): "runtime.powerState", and
//     with the power tasks "config.hardware.device" (the devices' connected flags);
//   - a vNIC added or removed (ReconfigVM_Task): "summary.config.numEthernetCards" (its update comes before
//     the reconfigure's new device list, so a guest reads its vNICs again: see devicesChanged);
//   - any device change (ReconfigVM_Task): "config.hardware.device[key]" per device, then
//     "config.hardware.device" with the whole list;
//   - a VM created or registered: the registry's Put of the new VM; destroyed or unregistered: its Remove.

// vmHook is the emulator's handler in the simulator's registry. The registry calls it synchronously, often
// under the changed object's lock, so it never blocks nor calls into the simulator: it copies what it needs
// and queues it for the emulator's own goroutine (follow).
type vmHook struct {
	blockDisks bool      // copy the VMs' devices (block-disk mode)
	tasks      taskWaits // the simulator's tasks waited for in process (inproc.go)

	mu    sync.Mutex
	queue []vmChange
	wake  chan struct{} // capacity 1: a change was queued
}

func newVMHook(blockDisks bool) *vmHook {
	return &vmHook{blockDisks: blockDisks, wake: make(chan struct{}, 1)}
}

// Reference names the handler in the registry's table of handlers.
func (h *vmHook) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "ViceEmulatorWatch", Value: "vms"}
}

// PutObject hears of a VM created or registered: its state is what it has. The new VM is not yet shared
// with any other call, so it is read without its lock.
func (h *vmHook) PutObject(_ *simulator.Context, obj mo.Reference) {
	if vm := asVM(obj); vm != nil {
		h.push(h.state(vm))
	}
}

// UpdateObject hears of any object's change, the VM's own fields already updated.
func (h *vmHook) UpdateObject(_ *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	vm := asVM(obj)
	if vm == nil {
		if t := asTask(obj); t != nil {
			h.tasks.changed(t)
		}
		return
	}
	c := vmChange{vm: vm.Self}
	for _, p := range changes {
		switch p.Name {
		case "runtime.powerState":
			c.power = vm.Runtime.PowerState
		case nicCount:
			c.nics = true
		case "config.hardware.device":
			if h.blockDisks {
				c.devices = devicesOf(vm)
			}
		}
	}
	if c.power != "" || c.nics || c.devices != nil {
		h.push(c)
	}
}

// RemoveObject hears of a VM destroyed or unregistered.
func (h *vmHook) RemoveObject(_ *simulator.Context, ref types.ManagedObjectReference) {
	if ref.Type == "VirtualMachine" {
		h.push(vmChange{vm: ref, gone: true})
	}
}

// state is everything the emulator follows of vm, as a change: the reconciliation's read.
func (h *vmHook) state(vm *mo.VirtualMachine) vmChange {
	c := vmChange{vm: vm.Self, power: vm.Runtime.PowerState}
	if h.blockDisks {
		c.devices = devicesOf(vm)
	}
	return c
}

// push queues c and wakes follow.
func (h *vmHook) push(c vmChange) {
	h.mu.Lock()
	h.queue = append(h.queue, c)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// reconcile queues vm's state, read now under its lock, in place of the changes queued for it before:
// the read includes them. Called before follow starts, so none of those was acted on.
func (h *vmHook) reconcile(reg *simulator.Registry, obj mo.Reference) {
	reg.WithLock(&simulator.Context{Map: reg}, obj, func() {
		vm := asVM(obj)
		if vm == nil {
			return
		}
		if reg.Get(vm.Self) == nil {
			return // removed meanwhile: its removal is queued
		}
		c := h.state(vm)
		h.mu.Lock()
		defer h.mu.Unlock()
		kept := h.queue[:0]
		for _, q := range h.queue {
			if q.vm != c.vm {
				kept = append(kept, q)
			}
		}
		h.queue = append(kept, c)
	})
}

// take returns the changes queued so far, waiting for one until done is closed (then nil).
func (h *vmHook) take(done <-chan struct{}) []vmChange {
	for {
		h.mu.Lock()
		q := h.queue
		h.queue = nil
		h.mu.Unlock()
		if len(q) > 0 {
			return q
		}
		select {
		case <-done:
			return nil
		case <-h.wake:
		}
	}
}

// followRegistry registers the emulator's handler in the simulator's registry, then reconciles every VM
// there already (registered first, so no change falls between the read and the handler), and acts on
// their changes in order until Close. The handler is removed by Close.
func (e *Emulator) followRegistry(reg *simulator.Registry) {
	h := newVMHook(e.blocks != nil)
	e.hook = h
	reg.AddHandler(h)
	e.unhook = func() { reg.RemoveHandler(h) }
	for _, vm := range reg.All("VirtualMachine") {
		h.reconcile(reg, vm)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			changes := h.take(e.ctx.Done())
			if changes == nil {
				return
			}
			for _, c := range changes {
				e.observe(c)
			}
		}
	}()
}

// asVM is the simulator's VM behind obj, or nil for any other object: the registry hands its handlers the
// simulator's own object on a Put, and the managed object it embeds on an Update.
func asVM(obj mo.Reference) *mo.VirtualMachine {
	switch vm := obj.(type) {
	case *simulator.VirtualMachine:
		return &vm.VirtualMachine
	case *mo.VirtualMachine:
		return vm
	}
	return nil
}

// devicesOf copies the devices of vm that the block-disk mode reads (blockdisks.go: disks and their
// backings, CD-ROMs and their ISOs), since the simulator goes on changing its own after the handler returns.
func devicesOf(vm *mo.VirtualMachine) []types.BaseVirtualDevice {
	out := []types.BaseVirtualDevice{}
	if vm.Config == nil {
		return out
	}
	for _, d := range vm.Config.Hardware.Device {
		switch d := d.(type) {
		case *types.VirtualDisk:
			c := *d
			if b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				bc := *b
				if b.Parent != nil {
					p := *b.Parent
					bc.Parent = &p
				}
				c.Backing = &bc
			}
			out = append(out, &c)
		case *types.VirtualCdrom:
			c := *d
			if b, ok := d.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
				bc := *b
				c.Backing = &bc
			}
			out = append(out, &c)
		}
	}
	return out
}
