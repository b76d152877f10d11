package emulator

import "github.com/vmware/govmomi/vim25/types"

// A guest's cgroups are how the emulator does what ESXi does to a running VM's vCPUs and memory: bound them
// to the VM's size, stop them when the VM is suspended and let them go on when it is powered on again.

// makeCgroup gives a booting guest its cgroups, bounded by the VM's size; nil when the host has none to
// give, and the guest then runs unbounded, without stats of its own, and cannot be paused.
func (g *guest) makeCgroup(l layout) *guestCgroup {
	cg, err := newGuestCgroup(g.vm.Value)
	if err != nil {
		g.log.Warn("the guest runs without cgroups of its own (no stats, limits or pause)", "err", err)
		return nil
	}
	if err := cg.setLimits(l.cpus, l.memMB); err != nil {
		g.log.Warn("bound the guest to its VM's size", "cpus", l.cpus, "memoryMB", l.memMB, "err", err)
	}
	g.cgMu.Lock()
	defer g.cgMu.Unlock()
	g.cg, g.cpus, g.memMB = cg, l.cpus, l.memMB
	if g.paused { // suspended while it booted
		g.setFrozen(true)
	}
	return cg
}

func (g *guest) removeCgroup(cg *guestCgroup) {
	g.cgMu.Lock()
	g.cg = nil
	g.cgMu.Unlock()
	if err := cg.remove(); err != nil {
		g.log.Warn("clean up after the guest", "err", err)
	}
}

// pause freezes (or thaws) the guest because its VM was suspended (or powered on again).
func (g *guest) pause(paused bool) {
	g.cgMu.Lock()
	defer g.cgMu.Unlock()
	if g.paused == paused {
		return
	}
	g.paused = paused
	if g.cg != nil {
		g.setFrozen(paused)
	}
}

// thawToKill lets a frozen guest's processes run again, so that the kill that follows ends them.
func (g *guest) thawToKill() {
	g.cgMu.Lock()
	defer g.cgMu.Unlock()
	if g.paused && g.cg != nil {
		g.setFrozen(false)
	}
	g.paused = false
}

func (g *guest) setFrozen(frozen bool) {
	var err error
	if frozen {
		err = g.cg.freeze()
	} else {
		err = g.cg.thaw()
	}
	if err != nil {
		g.log.Error("freeze or thaw the guest", "freeze", frozen, "err", err)
		return
	}
	g.log.Info("guest frozen", "frozen", frozen)
}

// resize applies a running VM's size (after a hot add) to its guest, when it changed.
func (g *guest) resize(cpus, memMB int64) {
	g.cgMu.Lock()
	defer g.cgMu.Unlock()
	if g.cg == nil || (cpus == g.cpus && memMB == g.memMB) {
		return
	}
	g.cpus, g.memMB = cpus, memMB
	if err := g.cg.setLimits(cpus, memMB); err != nil {
		g.log.Warn("resize the guest", "cpus", cpus, "memoryMB", memMB, "err", err)
		return
	}
	g.log.Info("guest resized", "cpus", cpus, "memoryMB", memMB)
}

// guestOf is vm's current guest, or nil.
func (e *Emulator) guestOf(vm types.ManagedObjectReference) *guest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.guests[vm.Value]
}

// Resize bounds vm's guest by the VM's size, for a simulator that tells the emulator of every change of a
// VM's configuration (plugins/vcsim's hook): a reconfigure's hot add reaches the guest before its task
// ends, as ESXi's does.
func (e *Emulator) Resize(vm types.ManagedObjectReference, cpus, memMB int64) {
	if g := e.guestOf(vm); g != nil {
		g.resize(cpus, memMB)
	}
}

// Suspend freezes vm's guest now, for a simulator that tells the emulator of a suspend within its task
// (plugins/vcsim's hook); the watch would otherwise do it when it hears of the new power state.
func (e *Emulator) Suspend(vm types.ManagedObjectReference) {
	if g := e.guestOf(vm); g != nil {
		g.pause(true)
	}
}
