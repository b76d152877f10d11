package vtask_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vsphere/vtask"
)

// TestWait powers a simulated VM off and on: a task that succeeds gives its info, one that fails (powering
// on a VM that is on) gives govmomi's task.Error with the fault vSphere reported.
func TestWait(t *testing.T) {
	simulator.Test(func(ctx context.Context, c *vim25.Client) {
		vm, err := find.NewFinder(c).VirtualMachine(ctx, "DC0_H0_VM0")
		if err != nil {
			t.Fatal(err)
		}
		info, err := vtask.Run(ctx, vm.PowerOff)
		if err != nil {
			t.Fatalf("power off: %v", err)
		}
		if info.State != types.TaskInfoStateSuccess || info.DescriptionId != "VirtualMachine.powerOff" {
			t.Fatalf("power off ended as %s (%s)", info.State, info.DescriptionId)
		}
		if st, _ := vm.PowerState(ctx); st != types.VirtualMachinePowerStatePoweredOff {
			t.Fatalf("power state %s after the wait, want poweredOff", st)
		}
		if _, err := vtask.Run(ctx, vm.PowerOn); err != nil {
			t.Fatalf("power on: %v", err)
		}
		_, err = vtask.Run(ctx, vm.PowerOn)
		var te task.Error
		if !errors.As(err, &te) {
			t.Fatalf("powering on a running VM: %T %v, want a task.Error", err, err)
		}
		if _, ok := te.Fault().(*types.InvalidPowerState); !ok {
			t.Fatalf("fault %T, want *types.InvalidPowerState", te.Fault())
		}
	})
}

// TestWaitForARunningTask waits for a task that has not ended when the wait begins: the wait falls back to
// the property collector and returns when the task ends.
func TestWaitForARunningTask(t *testing.T) {
	simulator.TaskDelay.MethodDelay = map[string]int{"PowerOffVM_Task": 300, "LockHandoff": 0}
	defer func() { simulator.TaskDelay.MethodDelay = nil }()
	simulator.Test(func(ctx context.Context, c *vim25.Client) {
		vm, err := find.NewFinder(c).VirtualMachine(ctx, "DC0_H0_VM0")
		if err != nil {
			t.Fatal(err)
		}
		tk, err := vm.PowerOff(ctx)
		if err != nil {
			t.Fatal(err)
		}
		info, err := vtask.Wait(ctx, tk)
		if err != nil || info.State != types.TaskInfoStateSuccess {
			t.Fatalf("wait: %v, %v", info, err)
		}
		if st, _ := vm.PowerState(ctx); st != types.VirtualMachinePowerStatePoweredOff {
			t.Fatalf("power state %s after the wait, want poweredOff", st)
		}
	})
}
