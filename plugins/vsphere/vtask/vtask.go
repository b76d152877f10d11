package vtask

import (
	"context"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Wait waits for t to end and returns its info, with the error govmomi's Task.WaitForResult returns for a
// failed task (a task.Error holding the task's fault), so faults are classified the same either way.
func Wait(ctx context.Context, t *object.Task) (*types.TaskInfo, error) {
	var m mo.Task
	err := property.DefaultCollector(t.Client()).RetrieveOne(ctx, t.Reference(), []string{"info"}, &m)
	if err == nil {
		switch m.Info.State {
		case types.TaskInfoStateSuccess:
			return &m.Info, nil
		case types.TaskInfoStateError:
			if m.Info.Error == nil {
				break // no fault to report yet: let the collector's wait read it
			}
			return &m.Info, task.Error{LocalizedMethodFault: m.Info.Error, Description: m.Info.Description}
		}
	} else if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Still running, or the read failed (the collector's wait reports a lasting failure itself).
	return t.WaitForResult(ctx, nil)
}

// Run starts a task with start and waits for it: the usual shape of a vSphere call in a backend.
func Run(ctx context.Context, start func(context.Context) (*object.Task, error)) (*types.TaskInfo, error) {
	t, err := start(ctx)
	if err != nil {
		return nil, err
	}
	return Wait(ctx, t)
}
