package vtask_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
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
	simulator.TaskDelay.MethodDelay = map[string]int{"PowerOff": 300, "LockHandoff": 0} // the simulator's task name
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

// counter counts the SOAP methods a client calls.
type counter struct {
	soap.RoundTripper
	mu    sync.Mutex
	calls map[string]int
}

func (c *counter) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	name := reflect.TypeOf(req).Elem().Name()
	c.mu.Lock()
	c.calls[strings.TrimSuffix(name, "Body")]++
	c.mu.Unlock()
	return c.RoundTripper.RoundTrip(ctx, req, res)
}

func (c *counter) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// A task that ends a few milliseconds after it was started is seen by reading its info again, without a
// property collector (whose wait the simulator answers on a 20 ms tick); one still running after the polls
// is waited for by the collector.
func TestShortTaskIsPolled(t *testing.T) {
	simulator.TaskDelay.MethodDelay = map[string]int{"ReconfigVm": 5, "PowerOff": 200, "LockHandoff": 0}
	defer func() { simulator.TaskDelay.MethodDelay = nil }()
	simulator.Test(func(ctx context.Context, c *vim25.Client) {
		n := &counter{RoundTripper: c.RoundTripper, calls: map[string]int{}}
		c.RoundTripper = n
		vm, err := find.NewFinder(c).VirtualMachine(ctx, "DC0_H0_VM0")
		if err != nil {
			t.Fatal(err)
		}
		// The polls last over 30 ms after the first read, which follows the task's queueing: a task the
		// server ended within 25 ms of queueing it is always seen by a poll. One that took longer (a starved
		// machine) proves nothing either way, so it is tried again.
		short := 0
		for try := 0; try < 5 && short == 0; try++ {
			before, reads := n.count("CreatePropertyCollector"), n.count("RetrievePropertiesEx")
			spec := types.VirtualMachineConfigSpec{Annotation: fmt.Sprint("polled ", try)}
			info, err := vtask.Run(ctx, func(ctx context.Context) (*object.Task, error) { return vm.Reconfigure(ctx, spec) })
			if err != nil {
				t.Fatalf("reconfigure: %v", err)
			}
			if info.CompleteTime == nil || info.CompleteTime.Sub(info.QueueTime) >= 25*time.Millisecond {
				continue
			}
			short++
			if got := n.count("CreatePropertyCollector") - before; got != 0 {
				t.Fatalf("a task that ended in %v made %d property collectors, want 0 (%v)",
					info.CompleteTime.Sub(info.QueueTime), got, n.calls)
			}
			if got := n.count("RetrievePropertiesEx") - reads; got < 2 {
				t.Fatalf("a 5 ms task was read %d times, want it read again after its first read", got)
			}
		}
		if short == 0 {
			t.Fatal("no 5 ms reconfigure ended within 25 ms in 5 tries")
		}
		before := n.count("CreatePropertyCollector")
		if _, err := vtask.Run(ctx, vm.PowerOff); err != nil {
			t.Fatalf("power off: %v", err)
		}
		if got := n.count("CreatePropertyCollector") - before; got != 1 {
			t.Fatalf("a 200 ms task made %d property collectors, want 1 (%v)", got, n.calls)
		}
		if st, _ := vm.PowerState(ctx); st != types.VirtualMachinePowerStatePoweredOff {
			t.Fatalf("power state %s after the wait, want poweredOff", st)
		}
	})
}
