package vcsim

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vcsim/emulator"
)

// suspendHook makes a VM's suspend task end only once its guest is frozen, as ESXi's ends once the VM's
// vCPUs have stopped: the emulator, one more client of the server, hears of the new power state only a
// little after the task ended, and a paused container would run on meanwhile. The simulator calls its
// registry's handlers within the task, so freezing here holds the task until it is done.
type suspendHook struct {
	e *emulator.Emulator
}

func (h *suspendHook) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "ViceEmulatorHook", Value: "suspend"}
}

func (h *suspendHook) PutObject(*simulator.Context, mo.Reference)                    {}
func (h *suspendHook) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

func (h *suspendHook) UpdateObject(_ *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	if obj.Reference().Type != "VirtualMachine" {
		return
	}
	for _, c := range changes {
		if c.Name == "runtime.powerState" && fmt.Sprint(c.Val) == string(types.VirtualMachinePowerStateSuspended) {
			h.e.Suspend(obj.Reference())
		}
	}
}
