package backendtest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// process is what a test container runs, in the contract's words.
type process struct {
	args       []string // args[0] is the path
	env        []string
	workingDir string
	user       string
	tty        bool
	openStdin  bool
	stdinOnce  bool
}

// sh runs script with busybox's sh -c.
func sh(script string) process { return process{args: []string{"/bin/sh", "-c", script}} }

// spec is the one place the suite turns a process into a ContainerSpec, so a change of the spec's shape
// is a change here alone.
func (s *suite) spec(id, name string, p process) *models.ContainerSpec {
	proc := &models.Process{Env: p.env, WorkingDir: p.workingDir, User: p.user, Tty: p.tty,
		OpenStdin: p.openStdin, StdinOnce: p.stdinOnce}
	if len(p.args) > 0 {
		proc.Path, proc.Args = p.args[0], p.args[1:]
	}
	return &models.ContainerSpec{ID: &id, Name: &name, Layer: s.layer, Process: proc,
		Annotations: map[string]string{"conformance": name}}
}

// newName is a container name unique to this run.
func (s *suite) newName(t *testing.T) string {
	base := strings.NewReplacer("/", "-", " ", "-").Replace(strings.TrimPrefix(t.Name(), "TestConformance/"))
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	return fmt.Sprintf("ct-%d-%s", s.names.Add(1), strings.Trim(base, "-"))
}

// create creates a container running p and removes it (forced) when t ends.
func (s *suite) create(t *testing.T, p process) *models.ContainerInfo {
	t.Helper()
	return s.createSpec(t, s.spec(newID(), s.newName(t), p))
}

func (s *suite) createSpec(t *testing.T, spec *models.ContainerSpec) *models.ContainerInfo {
	t.Helper()
	resp, err := s.pl.Containers.CreateContainer(containers.NewCreateContainerParamsWithContext(ctx(t)).WithSpec(spec))
	if err != nil {
		t.Fatalf("create container %s: %v", *spec.Name, errText(err))
	}
	id := *resp.Payload.ID
	t.Cleanup(func() { s.removeQuietly(t, id) })
	return resp.Payload
}

// removeQuietly force-removes a container that may already be gone.
func (s *suite) removeQuietly(t *testing.T, id string) {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	force := true
	_, err := s.pl.Containers.RemoveContainer(containers.NewRemoveContainerParamsWithContext(c).WithID(id).WithForce(&force))
	if err != nil && statusOf(err) != http.StatusNotFound {
		t.Errorf("remove container %s: %v", id, errText(err))
	}
}

// run creates a container running p and starts it.
func (s *suite) run(t *testing.T, p process) *models.ContainerInfo {
	t.Helper()
	c := s.create(t, p)
	return s.start(t, *c.ID)
}

func (s *suite) start(t *testing.T, id string) *models.ContainerInfo {
	t.Helper()
	resp, err := s.pl.Containers.StartContainer(containers.NewStartContainerParamsWithContext(ctx(t)).WithID(id))
	if err != nil {
		t.Fatalf("start container %s: %v", id, errText(err))
	}
	return resp.Payload
}

func (s *suite) get(t *testing.T, id string) *models.ContainerInfo {
	t.Helper()
	resp, err := s.pl.Containers.GetContainer(containers.NewGetContainerParamsWithContext(ctx(t)).WithID(id))
	if err != nil {
		t.Fatalf("inspect container %s: %v", id, errText(err))
	}
	return resp.Payload
}

// wait waits for condition and returns the state then.
func (s *suite) wait(t *testing.T, id, condition string) *models.ContainerState {
	t.Helper()
	resp, err := s.pl.Containers.WaitContainer(containers.NewWaitContainerParamsWithContext(ctx(t)).WithID(id).WithCondition(&condition))
	if err != nil {
		t.Fatalf("wait %s for %s: %v", condition, id, errText(err))
	}
	return resp.Payload
}

func (s *suite) signal(t *testing.T, id, signal string) {
	t.Helper()
	if _, err := s.pl.Containers.SignalContainer(containers.NewSignalContainerParamsWithContext(ctx(t)).WithID(id).WithSignal(signal)); err != nil {
		t.Fatalf("signal %s to %s: %v", signal, id, errText(err))
	}
}

// stop stops a container with signal ("" for its stop signal) and timeout in seconds.
func (s *suite) stop(t *testing.T, id, signal string, timeout int64) *models.ContainerInfo {
	t.Helper()
	p := containers.NewStopContainerParamsWithContext(ctx(t)).WithID(id).WithTimeout(&timeout)
	if signal != "" {
		p.SetSignal(&signal)
	}
	resp, err := s.pl.Containers.StopContainer(p)
	if err != nil {
		t.Fatalf("stop container %s: %v", id, errText(err))
	}
	return resp.Payload
}

// exited waits for the process to end and checks the state a finished process leaves.
func (s *suite) exited(t *testing.T, id string, code int64) *models.ContainerState {
	t.Helper()
	st := s.wait(t, id, "not-running")
	if st.Running || st.ExitCode != code || st.Status == nil || *st.Status != "exited" {
		t.Fatalf("container %s ended as %s, want exited with %d", id, stateText(st), code)
	}
	return st
}

func stateText(st *models.ContainerState) string {
	if st == nil {
		return "(no state)"
	}
	status := "(none)"
	if st.Status != nil {
		status = *st.Status
	}
	return fmt.Sprintf("status %s running %v exit %d error %q started %q finished %q boot %d",
		status, st.Running, st.ExitCode, st.Error, st.StartedAt, st.FinishedAt, st.Boot)
}
