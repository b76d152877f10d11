package emulator

import (
	"context"
	"fmt"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// nicRefreshTimeout bounds the read of a VM's devices when they change.
const nicRefreshTimeout = 30 * time.Second

// startNet makes the guest's network namespace and wires its vNICs: devices, the VM's devices as the boot
// read them, unless they changed since (then, or when devices is nil, they are read again).
func (g *guest) startNet(devices []types.BaseVirtualDevice) (*vmNet, error) {
	v, err := g.e.net.newVMNet()
	if err != nil {
		return nil, fmt.Errorf("the VM's network: %w", err)
	}
	g.netMu.Lock()
	g.net = v
	stale := g.nicsChanged || devices == nil
	if !stale {
		// The VM was read powered on: its boot is why we are here.
		err = g.syncNICs(vnicDevices(devices, true))
	}
	g.netMu.Unlock()
	if stale {
		err = g.refreshNICs()
	}
	if err != nil {
		g.stopNet()
		return nil, err
	}
	return v, nil
}

// stopNet unwires the guest's vNICs and lets its namespace go.
func (g *guest) stopNet() {
	g.netMu.Lock()
	v := g.net
	g.net = nil
	g.netMu.Unlock()
	if v != nil {
		v.close()
	}
}

// refreshNICs wires the vNICs the VM has now and unwires those it no longer has (hot-add and hot-remove).
func (g *guest) refreshNICs() error {
	g.netMu.Lock()
	defer g.netMu.Unlock()
	if g.net == nil {
		g.nicsChanged = true // startNet reads them again
		return nil
	}
	ctx, cancel := context.WithTimeout(g.ctx, nicRefreshTimeout)
	defer cancel()
	vm, err := g.e.readVM(ctx, g.vm)
	if err != nil {
		return fmt.Errorf("read the VM's vNICs: %w", err)
	}
	if vm.Config == nil {
		return nil
	}
	return g.syncNICs(vnicDevices(vm.Config.Hardware.Device, vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn))
}

// syncNICs wires devs and unwires the other vNICs. Called with netMu held and net set.
func (g *guest) syncNICs(devs []vnicDevice) error {
	if err := g.net.sync(devs); err != nil {
		return err
	}
	g.log.Debug("vNICs wired", "count", len(devs))
	return nil
}
