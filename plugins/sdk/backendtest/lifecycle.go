package backendtest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/models"
)

func (s *suite) testStartRunning(t *testing.T) {
	c := s.create(t, forever)
	got := s.start(t, *c.ID)
	st := got.State
	if !st.Running || *st.Status != "running" || st.Pid <= 0 || st.Boot != 1 || st.FinishedAt != "" {
		t.Fatalf("started: %s", stateText(st))
	}
	if started := parseTime(t, "startedAt", st.StartedAt); started.Before(parseTime(t, "created", c.Created)) {
		t.Errorf("started at %s, before it was created at %s", st.StartedAt, c.Created)
	}
	_, err := s.pl.Containers.StartContainer(containers.NewStartContainerParamsWithContext(ctx(t)).WithID(*c.ID))
	wantClass(t, err, http.StatusNotModified, "not_modified")
	if st := s.get(t, *c.ID).State; !st.Running || st.Boot != 1 {
		t.Errorf("a second start changed the state: %s", stateText(st))
	}
}

// A process that cannot start is reported as Docker reports it: exited with 127 (not found) and an error.
func (s *suite) testStartFailure(t *testing.T) {
	c := s.create(t, process{args: []string{"/no/such/program"}})
	got := s.start(t, *c.ID)
	if got.State.Running {
		s.wait(t, *c.ID, "not-running")
	}
	st := s.get(t, *c.ID).State
	if st.Running || *st.Status != "exited" || st.ExitCode != 127 || st.Error == "" {
		t.Errorf("a missing program: %s, want exited with 127 and an error", stateText(st))
	}
}

// The state a finished process leaves: exited, its exit code, its times.
func (s *suite) testStateExited(t *testing.T) {
	c := s.run(t, sh("exit 42"))
	s.exited(t, *c.ID, 42)
	st := s.get(t, *c.ID).State
	if st.Running || *st.Status != "exited" || st.ExitCode != 42 || st.Boot != 1 || st.Error != "" {
		t.Fatalf("after exit 42: %s", stateText(st))
	}
	started, finished := parseTime(t, "startedAt", st.StartedAt), parseTime(t, "finishedAt", st.FinishedAt)
	if finished.Before(started) || started.Before(parseTime(t, "created", c.Created)) {
		t.Errorf("created %s, started %s, finished %s: out of order", c.Created, st.StartedAt, st.FinishedAt)
	}
}

// A container runs again from its own disk: what the first run wrote is there, and the state is the new run's.
func (s *suite) testStateRestarted(t *testing.T) {
	c := s.run(t, sh(`test -f /count && echo "second run" && exit 2; echo once > /count; exit 1`))
	first := s.exited(t, *c.ID, 1)
	got := s.start(t, *c.ID)
	if got.State.Boot != 2 {
		t.Errorf("the second start is boot %d", got.State.Boot)
	}
	second := s.exited(t, *c.ID, 2)
	if second.Boot != 2 || second.StartedAt == first.StartedAt ||
		parseTime(t, "finishedAt", second.FinishedAt).Before(parseTime(t, "finishedAt", first.FinishedAt)) {
		t.Errorf("first run %s; second run %s", stateText(first), stateText(second))
	}
}

func (s *suite) testWaitNotRunning(t *testing.T) {
	c := s.create(t, sh("sleep 1; exit 5"))
	// A container that never ran is not running: the wait answers at once.
	if st := s.wait(t, *c.ID, "not-running"); st.Running || *st.Status != "created" {
		t.Errorf("waiting on a created container: %s", stateText(st))
	}
	s.start(t, *c.ID)
	// Only the end of the process gives exit code 5: a wait that answered early would say running.
	s.exited(t, *c.ID, 5)
}

func (s *suite) testWaitNextExit(t *testing.T) {
	c := s.run(t, sh("read line; exit 6"))
	s.exited(t, *c.ID, 6)
	// The run is over: next-exit waits for the end of the next one.
	done := s.waitAsync(t, *c.ID, "next-exit")
	select {
	case r := <-done:
		t.Fatalf("next-exit answered before the next run: %s %v", stateText(r.st), r.err)
	case <-time.After(500 * time.Millisecond):
	}
	s.start(t, *c.ID)
	r := <-done
	if r.err != nil {
		t.Fatalf("next-exit: %v", errText(r.err))
	}
	if r.st.Running || r.st.Boot != 2 || r.st.ExitCode != 6 {
		t.Errorf("next-exit answered %s, want the end of boot 2", stateText(r.st))
	}
}

func (s *suite) testWaitRemoved(t *testing.T) {
	c := s.run(t, forever)
	done := s.waitAsync(t, *c.ID, "removed")
	// The wait must have reached the backend before the container goes, or it would rightly be not found.
	select {
	case r := <-done:
		t.Fatalf("waiting for removal answered while the container exists: %s %v", stateText(r.st), errText(r.err))
	case <-time.After(2 * time.Second):
	}
	s.remove(t, *c.ID, true)
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("waiting for removal: %v", errText(r.err))
		}
		if r.st.Running {
			t.Errorf("the last state of a removed container is %s", stateText(r.st))
		}
	case <-time.After(expectWait):
		t.Fatal("waiting for removal did not end when the container was removed")
	}
}

type waitResult struct {
	st  *models.ContainerState
	err error
}

func (s *suite) waitAsync(t *testing.T, id, condition string) <-chan waitResult {
	done := make(chan waitResult, 1)
	c := ctx(t)
	go func() {
		resp, err := s.pl.Containers.WaitContainer(containers.NewWaitContainerParamsWithContext(c).WithID(id).WithCondition(&condition))
		if err != nil {
			done <- waitResult{err: err}
			return
		}
		done <- waitResult{st: resp.Payload}
	}()
	return done
}

// waitLog waits until the container's log has a record with line, which the suite's processes print once
// their signal handlers are in place.
func (s *suite) waitLog(t *testing.T, id, line string) {
	t.Helper()
	deadline := time.Now().Add(expectWait)
	for {
		for _, l := range lines(s.logs(t, id, logQuery{}), "") {
			if l == line {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q", id, line)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// trapping runs a process that runs handler on signal once it has said "ready".
func trapping(signal, handler string) process {
	return sh(`trap '` + handler + `' ` + signal + `; echo ready; while :; do sleep 0.1; done`)
}

// Stop sends the stop signal (SIGTERM by default) and the process's own exit is what the state reports.
func (s *suite) testStopSignal(t *testing.T) {
	c := s.run(t, trapping("TERM", "exit 7"))
	s.waitLog(t, *c.ID, "ready")
	got := s.stop(t, *c.ID, "", 30)
	if st := got.State; st.Running || *st.Status != "exited" || st.ExitCode != 7 || st.FinishedAt == "" {
		t.Errorf("stopped: %s, want exited with the handler's 7", stateText(st))
	}
	if st := s.get(t, *c.ID).State; st.Running || st.ExitCode != 7 {
		t.Errorf("after stop: %s", stateText(st))
	}
}

func (s *suite) testStopOtherSignal(t *testing.T) {
	c := s.run(t, trapping("USR1", "exit 10"))
	s.waitLog(t, *c.ID, "ready")
	if st := s.stop(t, *c.ID, "SIGUSR1", 30).State; st.Running || st.ExitCode != 10 {
		t.Errorf("stopped with SIGUSR1: %s, want exited with the handler's 10", stateText(st))
	}
}

// A process that ignores the stop signal goes down with its containerVM once the timeout has passed.
func (s *suite) testStopTimeout(t *testing.T) {
	for _, timeout := range []int64{1, 0} {
		t.Run(fmt.Sprintf("%ds", timeout), func(t *testing.T) { s.stopIgnored(t, timeout) })
	}
}

func (s *suite) stopIgnored(t *testing.T, timeout int64) {
	c := s.run(t, trapping("TERM", ""))
	s.waitLog(t, *c.ID, "ready")
	begin := time.Now()
	got := s.stop(t, *c.ID, "", timeout)
	if took := time.Since(begin); took < time.Duration(timeout)*time.Second {
		t.Errorf("stop powered off after %s, before the %ds timeout", took, timeout)
	}
	if st := got.State; st.Running || *st.Status != "exited" || st.ExitCode != 137 || st.FinishedAt == "" {
		t.Errorf("a process that ignored SIGTERM: %s, want exited with 137", stateText(st))
	}
	if st := s.get(t, *c.ID).State; st.Running || st.ExitCode != 137 {
		t.Errorf("after stop: %s", stateText(st))
	}
}

// A signal reaches the process, which goes on running; SIGKILL ends it with 137.
func (s *suite) testSignal(t *testing.T) {
	c := s.run(t, trapping("USR1", "echo got-usr1"))
	s.waitLog(t, *c.ID, "ready")
	s.signal(t, *c.ID, "USR1")
	s.waitLog(t, *c.ID, "got-usr1")
	if st := s.get(t, *c.ID).State; !st.Running {
		t.Fatalf("a handled signal ended the process: %s", stateText(st))
	}
	s.signal(t, *c.ID, "9")
	s.exited(t, *c.ID, 137)
}

func (s *suite) testRemoveRunning(t *testing.T) {
	c := s.run(t, forever)
	force := false
	_, err := s.pl.Containers.RemoveContainer(containers.NewRemoveContainerParamsWithContext(ctx(t)).WithID(*c.ID).WithForce(&force))
	wantClass(t, err, http.StatusConflict, "conflict")
	if st := s.get(t, *c.ID).State; !st.Running {
		t.Fatalf("a refused removal stopped the container: %s", stateText(st))
	}
	s.remove(t, *c.ID, true)
	s.gone(t, *c.ID)
}

func (s *suite) testRemoveExited(t *testing.T) {
	c := s.run(t, sh("exit 3"))
	s.exited(t, *c.ID, 3)
	s.remove(t, *c.ID, false)
	s.gone(t, *c.ID)
}

// gone checks that a removed container is not found, neither by ID nor in the list, nor removable again.
func (s *suite) gone(t *testing.T, id string) {
	t.Helper()
	_, err := s.pl.Containers.GetContainer(containers.NewGetContainerParamsWithContext(ctx(t)).WithID(id))
	wantClass(t, err, http.StatusNotFound, "not_found")
	if _, ok := s.list(t)[id]; ok {
		t.Error("a removed container is still listed")
	}
	_, err = s.pl.Containers.RemoveContainer(containers.NewRemoveContainerParamsWithContext(ctx(t)).WithID(id))
	wantClass(t, err, http.StatusNotFound, "not_found")
}
