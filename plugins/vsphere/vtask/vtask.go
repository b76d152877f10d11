package vtask

import (
	"context"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// polls are the pauses between the reads of a task's info before Wait hands it to the collector: about
// 30 ms in all, in which a containerVM's reconfigure, power operation, create or destroy ends. A longer task
// costs these six small reads more than a collector's wait would.
var polls = []time.Duration{
	500 * time.Microsecond, 1 * time.Millisecond, 2 * time.Millisecond,
	4 * time.Millisecond, 8 * time.Millisecond, 16 * time.Millisecond,
}

// Wait waits for t to end and returns its info, with the error govmomi's Task.WaitForResult returns for a
// failed task (a task.Error holding the task's fault), so faults are classified the same either way.
func Wait(ctx context.Context, t *object.Task) (*types.TaskInfo, error) {
	pc := property.DefaultCollector(t.Client())
	for i := 0; ; i++ {
		var m mo.Task
		err := pc.RetrieveOne(ctx, t.Reference(), []string{"info"}, &m)
		if err == nil {
			if info, err, ended := result(&m.Info); ended {
				return info, err
			}
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil || i == len(polls) {
			break // a failed read, or a long task: the collector's wait reports either
		}
		timer := time.NewTimer(polls[i])
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	return t.WaitForResult(ctx, nil)
}

// result tells whether a task has ended and how.
func result(info *types.TaskInfo) (*types.TaskInfo, error, bool) {
	switch info.State {
	case types.TaskInfoStateSuccess:
		return info, nil, true
	case types.TaskInfoStateError:
		if info.Error == nil {
			return nil, nil, false // no fault to report yet: read again
		}
		return info, task.Error{LocalizedMethodFault: info.Error, Description: info.Description}, true
	}
	return nil, nil, false
}

// Run starts a task and waits for it.
func Run(ctx context.Context, start func(context.Context) (*object.Task, error)) (*types.TaskInfo, error) {
	t, err := start(ctx)
	if err != nil {
		return nil, err
	}
	return Wait(ctx, t)
}
