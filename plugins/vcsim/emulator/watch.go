package emulator

import (
	"context"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// Back-off between attempts to (re)establish the watch or a serial link.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// vmChange is what the emulator learns of one VM at a time, from the simulator's registry (registry.go) or
// from a property collector (sdkwatch.go).
type vmChange struct {
	vm    types.ManagedObjectReference
	gone  bool                           // the VM was removed
	power types.VirtualMachinePowerState // its power state; empty when it did not change
	nics  bool                           // its vNICs changed
	// devices are the VM's devices in block-disk mode; nil when they did not change (or are not followed).
	devices []types.BaseVirtualDevice
}

// observe acts on one VM's change: a powered-on VM gets a guest (a suspended one's goes on), a suspended
// VM's guest is frozen, any other state (or the VM's removal) ends the guest it has; a change of its vNICs
// rewires them; in block-disk mode, its hot-added disks follow its devices and power state.
func (e *Emulator) observe(c vmChange) {
	if c.gone {
		e.stopGuest(c.vm, "VM removed")
		e.addrs.release(c.vm.Value)
		if e.blocks != nil {
			e.blocks.update(c.vm.Value, nil, nil, true)
		}
		return
	}
	if c.nics {
		e.devicesChanged(c.vm)
	}
	var on *bool
	if c.power != "" {
		powered := c.power == types.VirtualMachinePowerStatePoweredOn
		on = &powered
		switch c.power {
		case types.VirtualMachinePowerStatePoweredOn:
			e.bootGuest(c.vm)
		case types.VirtualMachinePowerStateSuspended:
			if g := e.guestOf(c.vm); g != nil {
				g.pause(true)
			}
		default:
			e.stopGuest(c.vm, "VM "+string(c.power))
		}
	}
	if e.blocks != nil && (on != nil || c.devices != nil) {
		e.blocks.update(c.vm.Value, on, c.devices, false)
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

// nicCount stands for the VM's vNICs: the simulator changes it when one is added or removed, and a
// collector follows it at far less cost than every VM's device list.
const nicCount = "summary.config.numEthernetCards"

// devicesChanged has a running guest wire the vNICs its VM has now (hot-add and hot-remove), in the
// background: the VMs' other changes are acted on meanwhile.
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
