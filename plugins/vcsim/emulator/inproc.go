package emulator

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vsphere/soaptrace"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
)

// With the simulator in this process (Config.Service), what a guest does to its own VM (a guestinfo write,
// the power-off of a halting guest) is a call of the simulator's own method through its in-process round
// tripper (simulator.Service.RoundTrip): the same ReconfigVM_Task or PowerOffVM_Task, in the simulator's
// locks, tasks and events, that every client's property collector sees, without its HTTPS, SOAP encoding
// and session lookups (about a millisecond of each write on a loaded host). The task it starts is waited
// for in process too: the registry's handler (vmHook) hears of its end, as it is recorded.

// newLocalClient is a vSphere client whose calls are the simulator's methods called in process.
func newLocalClient(ctx context.Context, svc *simulator.Service, cfg Config) (*vim25.Client, error) {
	c, err := vim25.NewClient(ctx, recovering{svc})
	if err != nil {
		return nil, fmt.Errorf("emulator: in-process client: %w", err)
	}
	c.RoundTripper = soaptrace.Wrap(c.RoundTripper, cfg.Logger.With("component", "emulator", "inProcess", true))
	return c, nil
}

// recovering turns a panic of the simulator's method into the call's error, as the simulator's HTTP server
// does for a call over the API (net/http recovers a handler's panic), rather than ending the process.
type recovering struct{ next soap.RoundTripper }

func (r recovering) RoundTrip(ctx context.Context, req, res soap.HasFault) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the simulator failed in %s: %v", soaptrace.Method(req), p)
		}
	}()
	return r.next.RoundTrip(ctx, req, res)
}

// guestClient is the client a guest's writes to its VM go through: the in-process one when there is one.
func (e *Emulator) guestClient() *vim25.Client {
	if e.local != nil {
		return e.local
	}
	return e.client
}

// runTask starts a task on the guest's client and waits for it to end: in process through the registry's
// handler when there is one, else with vtask.Wait.
func (e *Emulator) runTask(ctx context.Context, start func(c *vim25.Client) (*object.Task, error)) error {
	t, err := start(e.guestClient())
	if err != nil {
		return err
	}
	if e.local == nil || e.hook == nil {
		_, err = vtask.Wait(ctx, t)
		return err
	}
	return e.waitTask(ctx, t.Reference())
}

// waitTask waits for the simulator's task ref to end and returns its fault as vtask.Wait would (a
// task.Error). The wait is registered before the task's state is first read, so an end between the two is
// not missed.
func (e *Emulator) waitTask(ctx context.Context, ref types.ManagedObjectReference) error {
	reg := e.cfg.Registry
	for {
		ended, stop := e.hook.tasks.watch(ref)
		obj := reg.Get(ref)
		if obj == nil {
			return fmt.Errorf("task %s: %w", ref.Value, errTaskGone)
		}
		var info types.TaskInfo
		reg.WithLock(&simulator.Context{Map: reg}, obj, func() {
			if t := asTask(obj); t != nil {
				info = t.Info
			}
		})
		switch info.State {
		case types.TaskInfoStateSuccess:
			stop()
			return nil
		case types.TaskInfoStateError:
			if info.Error != nil {
				stop()
				return task.Error{LocalizedMethodFault: info.Error, Description: info.Description}
			}
		}
		select {
		case <-ended:
		case <-ctx.Done():
			stop()
			return ctx.Err()
		}
	}
}

// errTaskGone is a task no longer in the simulator's registry.
var errTaskGone = errors.New("the task is gone")

// asTask is the task behind obj, or nil for any other object (see asVM).
func asTask(obj mo.Reference) *mo.Task {
	switch t := obj.(type) {
	case *simulator.Task:
		return &t.Task
	case *mo.Task:
		return t
	}
	return nil
}

// taskWaits are the tasks waited for in process, each with a channel closed when the task ends.
type taskWaits struct {
	mu    sync.Mutex
	waits map[types.ManagedObjectReference]chan struct{}
}

// watch registers a wait for ref's end; stop removes it.
func (w *taskWaits) watch(ref types.ManagedObjectReference) (ended <-chan struct{}, stop func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	if w.waits == nil {
		w.waits = map[types.ManagedObjectReference]chan struct{}{}
	}
	w.waits[ref] = ch
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		if w.waits[ref] == ch {
			delete(w.waits, ref)
		}
		w.mu.Unlock()
	}
}

// changed hears of a task's change (from vmHook, under the task's lock): an ended task's wait ends.
func (w *taskWaits) changed(t *mo.Task) {
	if t.Info.State != types.TaskInfoStateSuccess && t.Info.State != types.TaskInfoStateError {
		return
	}
	w.mu.Lock()
	ch := w.waits[t.Self]
	delete(w.waits, t.Self)
	w.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}
