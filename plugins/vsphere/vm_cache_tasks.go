package vsphere

import (
	"context"
	"sync/atomic"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// taskEnds sees the ends of this process's vSphere tasks: a task is waited for with a property collector
// (WaitForUpdatesEx on the task's "info"), and every answer passes here before the waiter sees it. When one
// says a task on a VM has ended, done is called with the VM, before the waiter goes on. The inventory cache
// uses it to invalidate the VMs this process changes, whichever code path changed them.
// It also counts the calls, which tells what an operation costs in round trips.
type taskEnds struct {
	next  soap.RoundTripper
	done  func(types.ManagedObjectReference)
	calls atomic.Uint64
}

func (t *taskEnds) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	t.calls.Add(1)
	err := t.next.RoundTrip(ctx, req, res)
	body, ok := res.(*methods.WaitForUpdatesExBody)
	if err != nil || !ok || body.Res == nil || body.Res.Returnval == nil {
		return err
	}
	for _, fs := range body.Res.Returnval.FilterSet {
		for _, ou := range fs.ObjectSet {
			if ou.Obj.Type != "Task" {
				continue
			}
			for _, ch := range ou.ChangeSet {
				if vm, ended := endedOnVM(ch.Val); ended {
					t.done(vm)
				}
			}
		}
	}
	return err
}

// endedOnVM says whether a task's info (the property task waits follow) is of a task on a VM that has ended,
// and which VM.
func endedOnVM(val any) (types.ManagedObjectReference, bool) {
	var info *types.TaskInfo
	switch v := val.(type) {
	case types.TaskInfo:
		info = &v
	case *types.TaskInfo:
		info = v
	default:
		return types.ManagedObjectReference{}, false
	}
	if info == nil || info.Entity == nil || info.Entity.Type != "VirtualMachine" {
		return types.ManagedObjectReference{}, false
	}
	if info.State != types.TaskInfoStateSuccess && info.State != types.TaskInfoStateError {
		return types.ManagedObjectReference{}, false
	}
	return *info.Entity, true
}
