package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// Tasks are the tether's exec sessions (DESIGN §5): a task is recorded in the containerVM's extraConfig
// under wire.SessionKey (a non-persistent key: StartContainer drops them all at the next boot), started by
// opening a session channel on the container's serial line, and followed through the tether's status
// requests and its session-exit requests. A task that runs outlives the endpoint: the record and the tether
// keep it. The record is written while the task goes on (the session channel carries the task's config
// too), so neither the create nor the start waits for a reconfigure of the VM; until it lands, this
// process's task table knows the task.

var _ sdk.Tasks = (*Backend)(nil)

// taskExitKilled is the exit code of a task whose container ended under it: the VM's power-off killed it.
const taskExitKilled = exitKilled

// CreateTask records the task with the running container.
func (b *Backend) CreateTask(ctx context.Context, containerID string, spec *models.TaskSpec) (*models.TaskInfo, error) {
	if spec == nil || spec.ID == nil || spec.Process == nil || spec.Process.Path == "" {
		return nil, fmt.Errorf("a task spec needs an id and a process with a path: %w", errdefs.ErrInvalid)
	}
	taskID := *spec.ID
	if err := checkTaskID(taskID); err != nil {
		return nil, err
	}
	c, err := b.containerVM(ctx, containerID)
	if err != nil {
		return nil, err
	}
	if err := runningForTasks(c); err != nil {
		return nil, err
	}
	if _, ok := c.extra[wire.SessionKey(taskID)]; ok || b.ctr.tasks.known(taskID) {
		return nil, fmt.Errorf("task %s exists: %w", taskID, errdefs.ErrConflict)
	}
	cfg, err := json.Marshal(sessionConfig(spec))
	if err != nil {
		return nil, fmt.Errorf("encode task %s: %w: %w", taskID, errdefs.ErrSystem, err)
	}
	b.ctr.tasks.noteCreated(containerID, spec)
	go b.recordTask(context.WithoutCancel(ctx), c, taskID, string(cfg))
	b.publishContainer(c, "exec_create: "+commandLine(spec.Process), map[string]string{"execID": taskID})
	return &models.TaskInfo{ID: &taskID, ContainerID: &containerID, Spec: spec,
		State: &models.TaskState{Status: models.TaskStateStatusCreated}}, nil
}

// recordTask writes the task's record into the containerVM's extraConfig, with the removal of the records of
// its tasks seen ending, so a container that runs many execs (health checks) does not pile them up.
func (b *Backend) recordTask(ctx context.Context, c *containerVM, taskID, cfg string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	kv := map[string]string{wire.SessionKey(taskID): cfg}
	dropped := b.ctr.tasks.endedRecords(c.id(), c)
	for _, id := range dropped {
		kv[wire.SessionKey(id)] = ""
	}
	if err := b.reconfigure(ctx, c, extraConfigChange(kv)); err != nil {
		b.log.Warn("could not record a task with its containerVM; a restarted endpoint will not find it",
			"container", c.id(), "task", taskID, "err", err)
		return
	}
	b.ctr.tasks.recordsDropped(dropped)
}

// GetTask describes the task: its spec from its record, its state from the tether (or, once it ended, from
// what the tether said then).
func (b *Backend) GetTask(ctx context.Context, containerID, taskID string) (*models.TaskInfo, error) {
	if err := checkTaskID(taskID); err != nil {
		return nil, err
	}
	if e, ok := b.ctr.tasks.ended(taskID); ok && e.container == containerID && e.spec != nil {
		return &models.TaskInfo{ID: &taskID, ContainerID: &containerID, Spec: e.spec, State: taskStateOf(e.status)}, nil
	}
	c, spec, err := b.task(ctx, containerID, taskID)
	if err != nil {
		return nil, err
	}
	st, err := b.taskState(ctx, c, taskID)
	if err != nil {
		return nil, err
	}
	return &models.TaskInfo{ID: &taskID, ContainerID: &containerID, Spec: spec, State: st}, nil
}

// task finds the container and the task's spec, from its record or from the table of ended tasks.
func (b *Backend) task(ctx context.Context, containerID, taskID string) (*containerVM, *models.TaskSpec, error) {
	if err := checkTaskID(taskID); err != nil {
		return nil, nil, err
	}
	c, err := b.containerVM(ctx, containerID)
	if err != nil {
		return nil, nil, err
	}
	if raw, ok := c.extra[wire.SessionKey(taskID)]; ok {
		var cfg wire.SessionConfig
		if err := json.Unmarshal([]byte(raw), &cfg); err == nil {
			return c, taskSpec(&cfg), nil
		}
	}
	if container, spec, ok := b.ctr.tasks.createdHere(taskID); ok && container == containerID {
		return c, spec, nil
	}
	if e, ok := b.ctr.tasks.ended(taskID); ok && e.container == containerID {
		return c, e.spec, nil
	}
	return nil, nil, fmt.Errorf("no such exec: %s: %w", taskID, errdefs.ErrNotFound)
}

// taskState asks the tether while the container runs; otherwise the task ended with its container (or
// never started).
func (b *Backend) taskState(ctx context.Context, c *containerVM, taskID string) (*models.TaskState, error) {
	if e, ok := b.ctr.tasks.ended(taskID); ok {
		return taskStateOf(e.status), nil
	}
	started := b.ctr.tasks.wasStarted(taskID)
	switch {
	case c.paused():
		if started {
			return &models.TaskState{Status: models.TaskStateStatusRunning, Running: true}, nil
		}
		return &models.TaskState{Status: models.TaskStateStatusCreated}, nil
	case !c.state().Running:
		if started {
			return &models.TaskState{Status: models.TaskStateStatusExited, ExitCode: taskExitKilled}, nil
		}
		return &models.TaskState{Status: models.TaskStateStatusCreated}, nil
	}
	g, err := b.ctr.attach.guest(ctx, c.id(), controlConnectWait)
	if err != nil {
		return nil, err
	}
	ok, reply, err := g.global(ctx, wire.RequestSessionStatus, []byte(taskID))
	if err != nil {
		return nil, err
	}
	if !ok { // the tether has not seen it: not started
		return &models.TaskState{Status: models.TaskStateStatusCreated}, nil
	}
	var st wire.SessionStatus
	if err := json.Unmarshal(reply, &st); err != nil {
		return nil, fmt.Errorf("task %s status: %w: %w", taskID, errdefs.ErrSystem, err)
	}
	if st.State == wire.SessionExited {
		b.ctr.tasks.noteEnded(c.id(), taskSpecOf(c, taskID), st)
	}
	return taskStateOf(st), nil
}

// StartTask opens the task's session channel: the tether starts the process, or says why it cannot.
func (b *Backend) StartTask(ctx context.Context, containerID, taskID string, opts sdk.AttachOptions) (sdk.Stream, error) {
	c, spec, err := b.task(ctx, containerID, taskID)
	if err != nil {
		return nil, err
	}
	if err := runningForTasks(c); err != nil {
		return nil, err
	}
	g, err := b.ctr.attach.guest(ctx, containerID, attachConnectWait)
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(sessionConfig(spec))
	if err != nil {
		return nil, fmt.Errorf("encode task %s: %w: %w", taskID, errdefs.ErrSystem, err)
	}
	ch, reqs, err := g.conn.OpenChannel(wire.ChannelSession, cfg)
	if err != nil {
		var oce *ssh.OpenChannelError
		if !errors.As(err, &oce) {
			return nil, fmt.Errorf("start task %s: %w", taskID, errdefs.Classed(err, errdefs.ErrUnavailable))
		}
		switch oce.Reason {
		case wire.RejectStartFailed:
			b.ctr.tasks.markStarted(containerID, taskID)
			return nil, fmt.Errorf("%s: %w", oce.Message, errdefs.ErrInvalid)
		case wire.RejectStarted:
			return nil, fmt.Errorf("task %s was started before: %w", taskID, errdefs.ErrConflict)
		default:
			return nil, fmt.Errorf("task %s: %s: %w", taskID, oce.Message, errdefs.ErrNotFound)
		}
	}
	b.ctr.tasks.markStarted(containerID, taskID)
	b.publishContainer(c, "exec_start: "+commandLine(spec.Process), map[string]string{"execID": taskID})
	opts.Stdin = opts.Stdin && spec.Process.OpenStdin
	return newAttachStream(ch, reqs, opts), nil
}

// ResizeTask sends the tty's new size to the tether.
func (b *Backend) ResizeTask(ctx context.Context, containerID, taskID string, height, width int64) error {
	c, _, err := b.task(ctx, containerID, taskID)
	if err != nil {
		return err
	}
	if !c.state().Running || c.paused() {
		return nil
	}
	g, err := b.ctr.attach.guest(ctx, containerID, controlConnectWait)
	if err != nil {
		return err
	}
	payload, _ := json.Marshal(wire.SessionResize{ID: taskID, Rows: uint16(height), Cols: uint16(width)})
	_, _, err = g.global(ctx, wire.RequestSessionResize, payload)
	return err
}

// SignalTask delivers a signal to the task's process (and the process group it leads).
func (b *Backend) SignalTask(ctx context.Context, containerID, taskID, signal string) error {
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	c, _, err := b.task(ctx, containerID, taskID)
	if err != nil {
		return err
	}
	if err := runningForTasks(c); err != nil {
		return err
	}
	g, err := b.ctr.attach.guest(ctx, containerID, controlConnectWait)
	if err != nil {
		return err
	}
	payload, _ := json.Marshal(wire.SessionSignal{ID: taskID, Signal: sig.name})
	ok, reply, err := g.global(ctx, wire.RequestSessionSignal, payload)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("signal task %s: %s: %w", taskID, replyMessage(reply), errdefs.ErrConflict)
	}
	return nil
}

// WaitTask waits for the tether's word that the task ended, or for its container's end.
func (b *Backend) WaitTask(ctx context.Context, containerID, taskID string) (*models.TaskState, error) {
	if _, _, err := b.task(ctx, containerID, taskID); err != nil {
		return nil, err
	}
	for {
		ended, cancel := b.ctr.tasks.subscribe(taskID)
		next := b.ctr.watch.next()
		c, err := b.containerVM(ctx, containerID)
		var st *models.TaskState
		if err == nil {
			st, err = b.taskState(ctx, c, taskID)
		}
		if isGone(err) { // removed with its container
			cancel()
			return &models.TaskState{Status: models.TaskStateStatusExited, ExitCode: taskExitKilled}, nil
		}
		if err != nil || st.Status == models.TaskStateStatusExited {
			cancel()
			return st, err
		}
		select {
		case <-ended:
		case <-next.done:
		case <-time.After(5 * time.Second): // a session-exit sent while the line was down is missed
		case <-ctx.Done():
			cancel()
			return nil, classify(ctx.Err(), "wait for task "+taskID)
		}
		cancel()
	}
}

// onSessionExit takes a tether's session-exit request: the task's end is recorded and its waiters woken at
// once (the session's channel ends after it), then exec_die is published.
func (b *Backend) onSessionExit(containerID string, payload []byte) {
	var st wire.SessionStatus
	if err := json.Unmarshal(payload, &st); err != nil || checkTaskID(st.ID) != nil {
		return
	}
	if first := b.ctr.tasks.noteEnded(containerID, nil, st); !first {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := b.containerVM(ctx, containerID)
		if err != nil {
			return
		}
		b.ctr.tasks.noteEnded(containerID, taskSpecOf(c, st.ID), st) // the spec, when it was not created here
		b.publishContainer(c, "exec_die", map[string]string{"execID": st.ID, "exitCode": itoa(st.ExitCode)})
	}()
}

// runningForTasks refuses a container whose guest cannot run a task now.
func runningForTasks(c *containerVM) error {
	switch {
	case c.paused():
		return fmt.Errorf("container %s is paused, unpause the container before exec: %w", c.id(), errdefs.ErrConflict)
	case !c.state().Running:
		return fmt.Errorf("container %s is not running: %w", c.id(), errdefs.ErrConflict)
	}
	return nil
}

func checkTaskID(id string) error {
	if !containerIDPattern.MatchString(id) {
		return fmt.Errorf("task ID %q is not 64 lowercase hex digits: %w", id, errdefs.ErrInvalid)
	}
	return nil
}

// taskIDs lists the tasks recorded with the containerVM.
func (c *containerVM) taskIDs() []string {
	var ids []string
	for k := range c.extra {
		if id, ok := strings.CutPrefix(k, wire.SessionPrefix); ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// sessionConfig is the tether's view of a task spec.
func sessionConfig(spec *models.TaskSpec) wire.SessionConfig {
	p := spec.Process
	return wire.SessionConfig{ID: *spec.ID, Path: p.Path, Args: p.Args, Env: p.Env, WorkingDir: p.WorkingDir,
		User: p.User, Tty: p.Tty, OpenStdin: p.OpenStdin, Privileged: spec.Privileged,
		Rows: ttyDimension(spec.TtyHeight), Cols: ttyDimension(spec.TtyWidth)}
}

func ttyDimension(n *int64) uint16 {
	if n == nil || *n < 0 {
		return 0
	}
	return uint16(min(*n, 0xffff))
}

// taskSpec is the port layer's view of a session config.
func taskSpec(cfg *wire.SessionConfig) *models.TaskSpec {
	id := cfg.ID
	rows, cols := int64(cfg.Rows), int64(cfg.Cols)
	return &models.TaskSpec{ID: &id, Privileged: cfg.Privileged, TtyHeight: &rows, TtyWidth: &cols,
		Process: &models.Process{Path: cfg.Path, Args: cfg.Args, Env: cfg.Env, WorkingDir: cfg.WorkingDir,
			User: cfg.User, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin}}
}

// taskSpecOf is a recorded task's spec, or nil.
func taskSpecOf(c *containerVM, taskID string) *models.TaskSpec {
	var cfg wire.SessionConfig
	if json.Unmarshal([]byte(c.extra[wire.SessionKey(taskID)]), &cfg) != nil || cfg.ID == "" {
		return nil
	}
	return taskSpec(&cfg)
}

func taskStateOf(st wire.SessionStatus) *models.TaskState {
	out := &models.TaskState{Status: st.State, Pid: int64(st.Pid), ExitCode: int64(st.ExitCode), Error: st.Error,
		StartedAt: rfc3339(st.StartedAt), FinishedAt: rfc3339(st.FinishedAt)}
	out.Running = st.State == wire.SessionRunning
	return out
}

// commandLine is the command as Docker's exec events show it.
func commandLine(p *models.Process) string {
	return strings.TrimSpace(p.Path + " " + strings.Join(p.Args, " "))
}

// replyMessage reads a failed request's wire.ReplyError.
func replyMessage(reply []byte) string {
	var e wire.ReplyError
	if json.Unmarshal(reply, &e) == nil && e.Error != "" {
		return e.Error
	}
	return "refused"
}
