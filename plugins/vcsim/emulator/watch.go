package emulator

import (
	"context"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/types"
)

// Back-off between attempts to (re)establish the watch or a serial link.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// watch follows the power state of every VM until Close. A failed watch is set up again; its first update
// set lists every VM, so guests and power states are reconciled after a gap.
func (e *Emulator) watch() {
	backoff := minBackoff
	for e.ctx.Err() == nil {
		start := time.Now()
		err := e.watchOnce(e.ctx)
		if e.ctx.Err() != nil {
			return
		}
		e.log.Warn("watching VM power states failed; retrying", "err", err, "in", backoff)
		if time.Since(start) > maxBackoff {
			backoff = minBackoff
		}
		if !sleep(e.ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// watchOnce runs one property collector over every VM, reached by traversing the inventory from the root
// folder (folders, datacenters' VM folders, vApps). A ContainerView would be simpler, but the simulator
// takes a view's lock while it registers a new VM and the collector takes them in the other order, which
// deadlocks under concurrent VM creation.
func (e *Emulator) watchOnce(ctx context.Context) error {
	sel := func(name string) types.BaseSelectionSpec { return &types.SelectionSpec{Name: name} }
	traverse := func(name, typ, path string, next ...string) types.BaseSelectionSpec {
		t := &types.TraversalSpec{SelectionSpec: types.SelectionSpec{Name: name}, Type: typ, Path: path}
		for _, n := range next {
			t.SelectSet = append(t.SelectSet, sel(n))
		}
		return t
	}
	filter := &property.WaitFilter{CreateFilter: types.CreateFilter{Spec: types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{
			Obj:  e.client.ServiceContent.RootFolder,
			Skip: types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{
				traverse("folder", "Folder", "childEntity", "folder", "dcVM", "vapp"),
				traverse("dcVM", "Datacenter", "vmFolder", "folder"),
				traverse("vapp", "VirtualApp", "vm"),
			},
		}},
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: e.watched()}},
	}}}
	return property.WaitForUpdates(ctx, property.DefaultCollector(e.client), filter,
		func(updates []types.ObjectUpdate) bool {
			for _, u := range updates {
				e.observe(u)
			}
			return false
		})
}

// watched are the VM properties the emulator follows: the power state and the size, and in block-disk mode
// the devices.
func (e *Emulator) watched() []string {
	props := []string{"runtime.powerState", nicCount}
	if e.blocks != nil {
		props = append(props, "config.hardware.device")
	}
	return props
}

// observe acts on one VM's update: a powered-on VM gets a guest (a suspended one's goes on), a suspended
// VM's guest is frozen, any other state (or the VM's removal) ends the guest it has; a change of its vNICs
// rewires them; in block-disk mode, its hot-added disks follow its devices and power state.
func (e *Emulator) observe(u types.ObjectUpdate) {
	if u.Kind == types.ObjectUpdateKindLeave {
		e.stopGuest(u.Obj, "VM removed")
		e.addrs.release(u.Obj.Value)
		if e.blocks != nil {
			e.blocks.update(u.Obj.Value, nil, nil, true)
		}
		return
	}
	var on *bool
	var devices []types.BaseVirtualDevice
	for _, c := range u.ChangeSet {
		switch c.Name {
		case nicCount:
			e.devicesChanged(u.Obj)
		case "runtime.powerState":
			state, _ := c.Val.(types.VirtualMachinePowerState)
			powered := state == types.VirtualMachinePowerStatePoweredOn
			on = &powered
			switch state {
			case types.VirtualMachinePowerStatePoweredOn:
				e.bootGuest(u.Obj)
			case types.VirtualMachinePowerStateSuspended:
				if g := e.guestOf(u.Obj); g != nil {
					g.pause(true)
				}
			default:
				e.stopGuest(u.Obj, "VM "+string(state))
			}
		case "config.hardware.device":
			if list, ok := c.Val.(types.ArrayOfVirtualDevice); ok {
				devices = list.VirtualDevice
			}
			if devices == nil {
				devices = []types.BaseVirtualDevice{}
			}
		}
	}
	if e.blocks != nil && (on != nil || devices != nil) {
		e.blocks.update(u.Obj.Value, on, devices, false)
	}
}

// bootGuest starts a guest for vm unless one is booting or running. A guest of an earlier power-on that is
// still being cleaned up is waited for by the new one, since both use the VM's disk and run folder.
func (e *Emulator) bootGuest(vm types.ManagedObjectReference) {
	e.mu.Lock()
	defer e.mu.Unlock()
	prev := e.guests[vm.Value]
	if prev != nil && !prev.stopping() {
		prev.pause(false) // a suspended VM powered on again resumes where it was
		return
	}
	if e.ctx.Err() != nil {
		return
	}
	g := newGuest(e, vm, prev)
	e.guests[vm.Value] = g
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		g.run()
		e.mu.Lock()
		if e.guests[vm.Value] == g {
			delete(e.guests, vm.Value)
		}
		e.mu.Unlock()
	}()
}

// nicCount stands for the VM's vNICs in the watch: it moves when one is added or removed, and costs the
// simulator far less to follow than every VM's device list.
const nicCount = "summary.config.numEthernetCards"

// devicesChanged has a running guest wire the vNICs its VM has now (hot-add and hot-remove), in the
// background: the watch goes on meanwhile.
func (e *Emulator) devicesChanged(vm types.ManagedObjectReference) {
	g := e.guestOf(vm)
	if g == nil || g.stopping() {
		return
	}
	go func() {
		if err := g.refreshNICs(); err != nil && !g.stopping() {
			g.log.Warn("wire the VM's vNICs", "err", err)
		}
	}()
}

// stopGuest kills vm's guest, if it has one, without powering the VM off: its state changed already.
func (e *Emulator) stopGuest(vm types.ManagedObjectReference, why string) {
	e.mu.Lock()
	g := e.guests[vm.Value]
	e.mu.Unlock()
	if g != nil {
		g.stop(why)
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
