package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Exec instances are dockerd's: the endpoint keeps them (as dockerd keeps them in memory), each backed by a
// task of the port layer, which the containerVM records and its tether runs. A task outlives the endpoint;
// a restarted endpoint finds an exec it does not know among its containers' tasks.

// keptExecs bounds the exec records kept; the oldest ended ones go first.
const keptExecs = 4096

// execRecord is one exec instance.
type execRecord struct {
	id, containerID string
	req             container.ExecCreateRequest
	spec            *models.TaskSpec

	mu      sync.Mutex
	started bool
	state   *models.TaskState // as last read; nil before
}

// execTable holds the exec records by ID, oldest first.
type execTable struct {
	mu    sync.Mutex
	byID  map[string]*execRecord
	order []string
}

func (t *execTable) get(id string) *execRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

func (t *execTable) add(e *execRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID == nil {
		t.byID = map[string]*execRecord{}
	}
	if _, ok := t.byID[e.id]; ok {
		return
	}
	t.byID[e.id] = e
	t.order = append(t.order, e.id)
	for len(t.order) > keptExecs {
		delete(t.byID, t.order[0])
		t.order = t.order[1:]
	}
}

// forget drops the records of a container that is gone.
func (t *execTable) forget(containerID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.order[:0]
	for _, id := range t.order {
		if t.byID[id].containerID == containerID {
			delete(t.byID, id)
			continue
		}
		kept = append(kept, id)
	}
	t.order = kept
}

// ExecCreate is POST /containers/{id}/exec: the process is merged with the container's env, user and working
// directory, and recorded as a task of the running container.
func (s *Service) ExecCreate(ctx context.Context, ref string, req container.ExecCreateRequest) (string, error) {
	if len(req.Cmd) == 0 {
		return "", dockermsg.NoExecCommand.Err()
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	if err := s.execable(r); err != nil {
		return "", err
	}
	spec := s.taskSpec(r, req)
	if _, err := s.pl.CreateTask(ctx, r.ID, spec); err != nil {
		if errors.Is(err, errdefs.ErrConflict) {
			if r, rerr := s.refresh(ctx, r.ID); rerr == nil && s.execable(r) != nil {
				return "", s.execable(r)
			}
		}
		return "", err
	}
	s.execs.add(&execRecord{id: *spec.ID, containerID: r.ID, req: req, spec: spec})
	s.log.Debug("exec created", "container", r.ID, "exec", *spec.ID, "cmd", req.Cmd)
	return *spec.ID, nil
}

// execable refuses a container that cannot take an exec now, in dockerd's words.
func (s *Service) execable(r *record) error {
	switch {
	case r.state().Paused:
		return dockermsg.ExecPaused.Err(r.ID)
	case s.restarting(r.ID):
		return dockermsg.ExecRestarting.Err(r.ID)
	case !r.running():
		return dockermsg.NotRunning.Err(r.ID)
	}
	return nil
}

// taskSpec is the exec's process, completed from the container as dockerd completes it: the container's
// env with the exec's entries replacing or added, its user and working directory unless the exec gives them.
func (s *Service) taskSpec(r *record, req container.ExecCreateRequest) *models.TaskSpec {
	id := newID()
	p := &models.Process{Path: req.Cmd[0], Args: req.Cmd[1:], Env: replaceEnv(r.Config.Env, req.Env),
		WorkingDir: req.WorkingDir, User: req.User, Tty: req.Tty, OpenStdin: req.AttachStdin}
	if p.WorkingDir == "" {
		p.WorkingDir = r.Config.WorkingDir
	}
	if p.User == "" {
		p.User = r.Config.User
	}
	spec := &models.TaskSpec{ID: &id, Process: p, Privileged: req.Privileged}
	if cs := req.ConsoleSize; cs != nil && cs[0] > 0 && cs[1] > 0 {
		spec.TtyHeight, spec.TtyWidth = ptr(int64(cs[0])), ptr(int64(cs[1]))
	}
	return spec
}

// replaceEnv is base with each of over's KEY=value entries replacing base's of the same key, or added.
func replaceEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, kv := range over {
		key, _, _ := strings.Cut(kv, "=")
		if i := slices.IndexFunc(out, func(e string) bool { k, _, _ := strings.Cut(e, "="); return k == key }); i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// execRecordOf finds an exec by ID: the endpoint's own record, or (after a restart) the task of that ID
// among the containers'.
func (s *Service) execRecordOf(ctx context.Context, id string) (*execRecord, error) {
	if e := s.execs.get(id); e != nil {
		return e, nil
	}
	if !fullID.MatchString(id) {
		return nil, dockermsg.NoSuchExec.Err(id)
	}
	all, err := s.pl.ListContainers(ctx, sdk.ListFilter{})
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.ID == nil || !slices.Contains(c.Tasks, id) {
			continue
		}
		ti, err := s.pl.GetTask(ctx, *c.ID, id)
		if errors.Is(err, errdefs.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		e := &execRecord{id: id, containerID: *c.ID, spec: ti.Spec, state: ti.State,
			started: ti.State != nil && ti.State.Status != models.TaskStateStatusCreated}
		if p := ti.Spec.Process; p != nil {
			e.req = container.ExecCreateRequest{Cmd: append([]string{p.Path}, p.Args...), User: p.User, Tty: p.Tty,
				AttachStdin: p.OpenStdin, AttachStdout: true, AttachStderr: true, Privileged: ti.Spec.Privileged}
		}
		s.execs.add(e)
		return s.execs.get(id), nil
	}
	return nil, dockermsg.NoSuchExec.Err(id)
}

// ExecInspect is GET /exec/{id}/json.
func (s *Service) ExecInspect(ctx context.Context, id string) (container.ExecInspectResponse, error) {
	e, err := s.execRecordOf(ctx, id)
	if err != nil {
		return container.ExecInspectResponse{}, err
	}
	st := s.execState(ctx, e)
	resp := container.ExecInspectResponse{
		ID: e.id, ContainerID: e.containerID, Running: st.Running, Pid: int(st.Pid),
		OpenStdin: e.req.AttachStdin, OpenStdout: e.req.AttachStdout, OpenStderr: e.req.AttachStderr,
		DetachKeys: []byte(e.req.DetachKeys),
		ProcessConfig: &container.ExecProcessConfig{Tty: e.req.Tty, Entrypoint: e.spec.Process.Path,
			Arguments: nonNil(e.spec.Process.Args), Privileged: &e.req.Privileged, User: e.req.User},
	}
	if st.Status == models.TaskStateStatusExited {
		resp.ExitCode = ptr(int(st.ExitCode))
	}
	return resp, nil
}

// execState is the exec's state: from the backend until it has ended, then as it ended.
func (s *Service) execState(ctx context.Context, e *execRecord) *models.TaskState {
	e.mu.Lock()
	st := e.state
	e.mu.Unlock()
	if st != nil && st.Status == models.TaskStateStatusExited {
		return st
	}
	ti, err := s.pl.GetTask(ctx, e.containerID, e.id)
	if err != nil {
		if st == nil {
			st = &models.TaskState{Status: models.TaskStateStatusCreated}
		}
		return st
	}
	e.mu.Lock()
	e.state = ti.State
	e.mu.Unlock()
	return ti.State
}

// ExecResize is POST /exec/{id}/resize: the exec's tty size.
func (s *Service) ExecResize(ctx context.Context, id string, height, width int64) error {
	e, err := s.execRecordOf(ctx, id)
	if err != nil {
		return err
	}
	return s.pl.ResizeTask(ctx, e.containerID, e.id, height, width)
}

// ExecStartOptions are POST /exec/{id}/start's body.
type ExecStartOptions struct {
	Detach bool
}

// Exec is an exec about to start, accepted before the client's connection is taken over.
type Exec struct {
	s *Service
	e *execRecord
	o ExecStartOptions
}

// ExecStart accepts POST /exec/{id}/start: a missing exec, or one started before, is an error answered
// before the connection is hijacked.
func (s *Service) ExecStart(ctx context.Context, id string, o ExecStartOptions) (*Exec, error) {
	e, err := s.execRecordOf(ctx, id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		if e.state != nil && e.state.Status == models.TaskStateStatusExited {
			return nil, dockermsg.ExecRan.Err(id)
		}
		return nil, dockermsg.ExecRunning.Err(id)
	}
	e.started = true
	return &Exec{s: s, e: e, o: o}, nil
}

// Tty says the output is raw rather than multiplexed.
func (x *Exec) Tty() bool { return x.e.req.Tty }

// Detached says the start answers at once, with no stream.
func (x *Exec) Detached() bool { return x.o.Detach }

// RunDetached starts the process and leaves it running.
func (x *Exec) RunDetached(ctx context.Context) error {
	st, err := x.s.pl.StartTask(ctx, x.e.containerID, x.e.id, sdk.AttachOptions{})
	if err != nil {
		return x.startFailed(ctx, err)
	}
	st.Close()
	return nil
}

// Serve starts the process and splices the client with it until its output ends (it exited), the client
// detaches or goes away, or ctx ends. A process that cannot start is reported on the stream, as dockerd
// writes it, and its exit code (126, 127) is the exec's.
func (x *Exec) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := x.e.req
	input := make(chan []byte, 16)
	go pumpInput(ctx, in, input, cancel)
	var keys []byte
	if spec := req.DetachKeys; spec != "" || (req.AttachStdin && req.Tty) {
		if spec == "" {
			spec = defaultDetachKeys
		}
		var err error
		if keys, err = parseDetachKeys(spec); err != nil {
			return err
		}
	}
	ds := newDockerStream(out, req.Tty)
	st, err := x.s.pl.StartTask(ctx, x.e.containerID, x.e.id,
		sdk.AttachOptions{Stdin: req.AttachStdin, Stdout: req.AttachStdout, Stderr: req.AttachStderr})
	if err != nil {
		err = x.startFailed(ctx, err)
		_ = ds.write(sdk.StreamStdout, []byte(message(err)+"\r\n"))
		return nil
	}
	defer st.Close()
	feed := stdinFeed{st: st, stdin: req.AttachStdin, keys: detachFilter{keys: keys}}
	go feed.run(ctx, input)
	copied := make(chan error, 1)
	go func() { copied <- ds.copyFrames(st) }()
	select {
	case <-copied:
	case <-ctx.Done():
	}
	x.s.execState(context.WithoutCancel(ctx), x.e)
	return nil
}

// startFailed words a start's failure as dockerd does: a process that could not start is the runtime's
// "OCI runtime exec failed" (its exit code, 126 or 127, is the exec's), a container no longer running the
// state's conflict.
func (x *Exec) startFailed(ctx context.Context, err error) error {
	x.s.execState(context.WithoutCancel(ctx), x.e)
	switch {
	case errors.Is(err, errdefs.ErrInvalid):
		return fmt.Errorf("OCI runtime exec failed: exec failed: unable to start container process: %s: unknown: %w",
			message(err), errdefs.ErrSystem)
	case errors.Is(err, errdefs.ErrConflict):
		if r, rerr := x.s.refresh(ctx, x.e.containerID); rerr == nil && x.s.execable(r) != nil {
			return x.s.execable(r)
		}
	}
	return err
}

// message is an error's text without its class's name, as the client sees it.
func message(err error) string {
	msg := err.Error()
	if c := errdefs.Sentinel(err); c != nil {
		msg = strings.TrimSuffix(msg, ": "+c.Error())
	}
	return msg
}
