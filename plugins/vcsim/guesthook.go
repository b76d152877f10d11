package vcsim

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vcsim/emulator"
)

// guestHook tells the hypervisor emulator, within the simulator's tasks, what ESXi would do to a running
// VM's guest before the task ends: a suspend stops its vCPUs, a reconfigure's hot add gives it more. The
// emulator, one more client of the server, would otherwise hear of a new power state a little after the
// task ended (and a paused container run on meanwhile), and of a new size not at all: the simulator
// publishes a reconfigure as a new config.changeVersion only. The simulator calls its registry's handlers
// within the task, with the VM at hand.
type guestHook struct {
	e *emulator.Emulator
}

func (h *guestHook) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "ViceEmulatorHook", Value: "guests"}
}

func (h *guestHook) PutObject(*simulator.Context, mo.Reference)                    {}
func (h *guestHook) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

func (h *guestHook) UpdateObject(_ *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	if obj.Reference().Type != "VirtualMachine" {
		return
	}
	for _, c := range changes {
		switch {
		case c.Name == "runtime.powerState" && fmt.Sprint(c.Val) == string(types.VirtualMachinePowerStateSuspended):
			h.e.Suspend(obj.Reference())
		case c.Name == "config.changeVersion":
			if vm, ok := obj.(*mo.VirtualMachine); ok && vm.Config != nil {
				h.e.Resize(vm.Self, int64(vm.Config.Hardware.NumCPU), int64(vm.Config.Hardware.MemoryMB))
			}
		}
	}
}
