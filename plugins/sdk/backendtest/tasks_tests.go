package backendtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/tasks"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// testTasks is the tasks group: exec sessions in running containers.
func (s *suite) testTasks(t *testing.T) {
	runAll(t, []subtest{
		{"run", s.testTaskRun},
		{"tty", s.testTaskTTY},
		{"stdin", s.testTaskStdin},
		{"detached", s.testTaskDetached},
		{"start-failure", s.testTaskStartFailure},
		{"many", s.testTasksMany},
		{"errors", s.testTaskErrors},
	})
}

// A task runs in the container with its own user, working directory and env; stdout and stderr come apart;
// its state goes created, then exited with its exit code; its container lists it.
func (s *suite) testTaskRun(t *testing.T) {
	c := s.run(t, forever)
	p := sh(`id -un; pwd; echo "$A"; echo err >&2; exit 3`)
	p.user, p.workingDir, p.env = "nobody", "/tmp", []string{"A=b"}
	ti := s.createTask(t, *c.ID, taskSpec(p))
	if ti.State == nil || ti.State.Status != "created" || *ti.ContainerID != *c.ID {
		t.Fatalf("a new task is %s in %s", taskStateText(ti.State), *ti.ContainerID)
	}
	if got := s.getTask(t, *c.ID, *ti.ID); got.State.Status != "created" || got.Spec.Process.User != "nobody" {
		t.Errorf("inspect of a new task: %s, spec %+v", taskStateText(got.State), got.Spec.Process)
	}
	if ids := s.get(t, *c.ID).Tasks; !slices.Contains(ids, *ti.ID) {
		t.Errorf("the container lists tasks %v, not %s", ids, *ti.ID)
	}
	a := s.startTask(t, *c.ID, *ti.ID, false, attachOpts{stdout: true, stderr: true})
	a.waitEnd(t)
	if out, errOut := a.output(stdout), a.output(stderr); out != "nobody\n/tmp\nb\n" || errOut != "err\n" {
		t.Errorf("task stdout %q stderr %q", out, errOut)
	}
	st := s.waitTask(t, *c.ID, *ti.ID)
	if st.Status != "exited" || st.Running || st.ExitCode != 3 || st.Pid == 0 || st.StartedAt == "" || st.FinishedAt == "" {
		t.Errorf("an ended task is %s", taskStateText(st))
	}
	if got := s.getTask(t, *c.ID, *ti.ID); got.State.Status != "exited" || got.State.ExitCode != 3 {
		t.Errorf("inspect of an ended task: %s", taskStateText(got.State))
	}
	if st := s.get(t, *c.ID).State; !st.Running {
		t.Errorf("the container ended with its task: %s", stateText(st))
	}
}

// A task on a tty: its initial size, a resize, input echoed, one stream, and its exit code.
func (s *suite) testTaskTTY(t *testing.T) {
	c := s.run(t, forever)
	spec := taskSpec(process{args: []string{"/bin/sh"}, tty: true, openStdin: true})
	rows, cols := int64(30), int64(100)
	spec.TtyHeight, spec.TtyWidth = &rows, &cols
	ti := s.createTask(t, *c.ID, spec)
	a := s.startTask(t, *c.ID, *ti.ID, true, attachOpts{stdin: true, stdout: true, stderr: true})
	a.send(t, "stty size\n")
	a.expect(t, stdout, "30 100\r\n")
	if _, err := s.pl.Tasks.ResizeTask(tasks.NewResizeTaskParamsWithContext(ctx(t)).WithID(*c.ID).WithTask(*ti.ID).
		WithHeight(40).WithWidth(120)); err != nil {
		t.Fatalf("resize task: %v", errText(err))
	}
	a.send(t, "stty size; tty\n")
	a.expect(t, stdout, "40 120\r\n")
	a.expect(t, stdout, "/dev/pts/")
	a.send(t, "exit 4\n")
	a.waitEnd(t)
	if st := s.waitTask(t, *c.ID, *ti.ID); st.ExitCode != 4 {
		t.Errorf("tty task ended as %s", taskStateText(st))
	}
}

// A task's stdin ends with the client's half-close.
func (s *suite) testTaskStdin(t *testing.T) {
	c := s.run(t, forever)
	ti := s.createTask(t, *c.ID, taskSpec(process{args: []string{"/bin/cat"}, openStdin: true}))
	a := s.startTask(t, *c.ID, *ti.ID, false, attachOpts{stdin: true, stdout: true})
	a.send(t, "ping\n")
	a.expect(t, stdout, "ping\n")
	a.closeStdin(t)
	a.waitEnd(t)
	if st := s.waitTask(t, *c.ID, *ti.ID); st.ExitCode != 0 {
		t.Errorf("cat ended as %s", taskStateText(st))
	}
}

// A task whose stream is closed runs on; another task sees what it did; a signal ends it.
func (s *suite) testTaskDetached(t *testing.T) {
	c := s.run(t, forever)
	bg := s.createTask(t, *c.ID, taskSpec(sh("touch /detached; exec sleep 600")))
	s.startTask(t, *c.ID, *bg.ID, false, attachOpts{}).close(t)
	check := s.createTask(t, *c.ID, taskSpec(sh("while [ ! -e /detached ]; do sleep 0.1; done; ls /detached")))
	a := s.startTask(t, *c.ID, *check.ID, false, attachOpts{stdout: true})
	a.waitEnd(t)
	if out := a.output(stdout); out != "/detached\n" {
		t.Errorf("ls of what the detached task made: %q", out)
	}
	if st := s.getTask(t, *c.ID, *bg.ID).State; st.Status != "running" || !st.Running || st.Pid == 0 {
		t.Fatalf("the detached task is %s", taskStateText(st))
	}
	if _, err := s.pl.Tasks.SignalTask(tasks.NewSignalTaskParamsWithContext(ctx(t)).WithID(*c.ID).WithTask(*bg.ID).
		WithSignal("TERM")); err != nil {
		t.Fatalf("signal task: %v", errText(err))
	}
	if st := s.waitTask(t, *c.ID, *bg.ID); st.Status != "exited" || st.ExitCode != 128+15 {
		t.Errorf("the signalled task ended as %s", taskStateText(st))
	}
}

// A process that cannot start is invalid, with Docker's exit codes in the task's state.
func (s *suite) testTaskStartFailure(t *testing.T) {
	c := s.run(t, forever)
	for _, tc := range []struct {
		path string
		code int64
		msg  string
	}{
		{"/nonexistent", 127, "no such file or directory"},
		{"/etc/passwd", 126, "permission denied"},
	} {
		ti := s.createTask(t, *c.ID, taskSpec(process{args: []string{tc.path}}))
		status, text := s.startTaskError(t, *c.ID, *ti.ID)
		if status != http.StatusBadRequest || !strings.Contains(text, tc.msg) {
			t.Errorf("start of %s: %s", tc.path, text)
		}
		if st := s.getTask(t, *c.ID, *ti.ID).State; st.Status != "exited" || st.ExitCode != tc.code || !strings.Contains(st.Error, tc.msg) {
			t.Errorf("task of %s is %s", tc.path, taskStateText(st))
		}
	}
}

// Twenty tasks at once on one container.
func (s *suite) testTasksMany(t *testing.T) {
	c := s.run(t, forever)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ti := s.createTask(t, *c.ID, taskSpec(sh(fmt.Sprintf("echo task-%d; exit %d", i, i))))
			a := s.startTask(t, *c.ID, *ti.ID, false, attachOpts{stdout: true})
			a.waitEnd(t)
			if out := a.output(stdout); out != fmt.Sprintf("task-%d\n", i) {
				t.Errorf("task %d printed %q", i, out)
			}
			if st := s.waitTask(t, *c.ID, *ti.ID); st.ExitCode != int64(i) {
				t.Errorf("task %d ended as %s", i, taskStateText(st))
			}
		})
	}
	wg.Wait()
}

// The error classes: tasks of stopped containers, unknown tasks, a task ID in use, a second start.
func (s *suite) testTaskErrors(t *testing.T) {
	stopped := s.create(t, forever)
	_, err := s.pl.Tasks.CreateTask(tasks.NewCreateTaskParamsWithContext(ctx(t)).WithID(*stopped.ID).WithSpec(taskSpec(sh("true"))))
	wantClass(t, err, http.StatusConflict, "conflict")

	c := s.run(t, forever)
	_, err = s.pl.Tasks.GetTask(tasks.NewGetTaskParamsWithContext(ctx(t)).WithID(*c.ID).WithTask(newID()))
	wantClass(t, err, http.StatusNotFound, "not_found")

	ti := s.createTask(t, *c.ID, taskSpec(sh("true")))
	_, err = s.pl.Tasks.CreateTask(tasks.NewCreateTaskParamsWithContext(ctx(t)).WithID(*c.ID).WithSpec(
		&models.TaskSpec{ID: ti.ID, Process: &models.Process{Path: "/bin/true"}}))
	wantClass(t, err, http.StatusConflict, "conflict")

	s.startTask(t, *c.ID, *ti.ID, false, attachOpts{stdout: true}).waitEnd(t)
	if status, text := s.startTaskError(t, *c.ID, *ti.ID); status != http.StatusConflict {
		t.Errorf("second start of a task: %s", text)
	}
}
