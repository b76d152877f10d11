package emulator

import (
	"context"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/types"
)

// An emulator given no registry (Config.Registry) follows the VMs through the simulator's API, as any other
// client would: a property collector's WaitForUpdatesEx over every VM. It is the way for a simulator whose
// registry is not at hand (plugins/vsphere's block-disk tests start one by URL); the simulator answers such
// a wait on a 20 ms tick and re-collects the whole filter for each change of any object, so registry.go is
// preferred wherever the simulator runs in this process.

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
				e.observe(e.changeOf(u))
			}
			return false
		})
}

// watched are the VM properties the watch follows: the power state and the vNICs, and in block-disk mode
// the devices.
func (e *Emulator) watched() []string {
	props := []string{"runtime.powerState", nicCount}
	if e.blocks != nil {
		props = append(props, "config.hardware.device")
	}
	return props
}

// changeOf is what one of the watch's updates says of its VM.
func (e *Emulator) changeOf(u types.ObjectUpdate) vmChange {
	c := vmChange{vm: u.Obj, gone: u.Kind == types.ObjectUpdateKindLeave}
	for _, p := range u.ChangeSet {
		switch p.Name {
		case nicCount:
			c.nics = true
		case "runtime.powerState":
			c.power, _ = p.Val.(types.VirtualMachinePowerState)
		case "config.hardware.device":
			if list, ok := p.Val.(types.ArrayOfVirtualDevice); ok {
				c.devices = list.VirtualDevice
			}
			if c.devices == nil {
				c.devices = []types.BaseVirtualDevice{}
			}
		}
	}
	return c
}
