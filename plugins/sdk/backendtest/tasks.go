package backendtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/tasks"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// taskSpec is the one place the suite turns a process into a TaskSpec.
func taskSpec(p process) *models.TaskSpec {
	id := newID()
	proc := &models.Process{Env: p.env, WorkingDir: p.workingDir, User: p.user, Tty: p.tty, OpenStdin: p.openStdin}
	if len(p.args) > 0 {
		proc.Path, proc.Args = p.args[0], p.args[1:]
	}
	return &models.TaskSpec{ID: &id, Process: proc}
}

func (s *suite) createTask(t *testing.T, containerID string, spec *models.TaskSpec) *models.TaskInfo {
	t.Helper()
	resp, err := s.pl.Tasks.CreateTask(tasks.NewCreateTaskParamsWithContext(ctx(t)).WithID(containerID).WithSpec(spec))
	if err != nil {
		t.Fatalf("create task in %s: %v", containerID, errText(err))
	}
	return resp.Payload
}

func (s *suite) getTask(t *testing.T, containerID, taskID string) *models.TaskInfo {
	t.Helper()
	resp, err := s.pl.Tasks.GetTask(tasks.NewGetTaskParamsWithContext(ctx(t)).WithID(containerID).WithTask(taskID))
	if err != nil {
		t.Fatalf("get task %s: %v", taskID, errText(err))
	}
	return resp.Payload
}

func (s *suite) waitTask(t *testing.T, containerID, taskID string) *models.TaskState {
	t.Helper()
	resp, err := s.pl.Tasks.WaitTask(tasks.NewWaitTaskParamsWithContext(ctx(t)).WithID(containerID).WithTask(taskID))
	if err != nil {
		t.Fatalf("wait task %s: %v", taskID, errText(err))
	}
	return resp.Payload
}

// startTask starts a task with the streams o asks for and decodes its output as an attach's.
func (s *suite) startTask(t *testing.T, containerID, taskID string, tty bool, o attachOpts) *attachment {
	t.Helper()
	resp, err := s.startTaskRequest(t, containerID, taskID, o)
	if err != nil {
		t.Fatalf("start task %s: %v", taskID, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		t.Fatalf("start task %s: %s", taskID, responseText(resp))
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		t.Fatalf("start task %s: the transport's upgraded body is %T, not read-write", taskID, resp.Body)
	}
	a := &attachment{id: taskID, conn: conn, out: map[int]*bytes.Buffer{stdout: {}, stderr: {}}, ended: make(chan struct{})}
	go func() {
		err := readOutput(conn, tty, func(stream int, p []byte) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			b, ok := a.out[stream]
			if !ok {
				return fmt.Errorf("output on unknown stream %d", stream)
			}
			b.Write(p)
			return nil
		})
		a.mu.Lock()
		a.err = err
		a.mu.Unlock()
		close(a.ended)
	}()
	t.Cleanup(func() { conn.Close() })
	return a
}

// startTaskRequest sends the start request through the transport, as core's client does.
func (s *suite) startTaskRequest(t *testing.T, containerID, taskID string, o attachOpts) (*http.Response, error) {
	q := url.Values{}
	q.Set("stdin", strconv.FormatBool(o.stdin))
	q.Set("stdout", strconv.FormatBool(o.stdout))
	q.Set("stderr", strconv.FormatBool(o.stderr))
	u := url.URL{Scheme: "http", Host: "portlayer", RawQuery: q.Encode(),
		Path: client.DefaultBasePath + "/containers/" + containerID + "/tasks/" + taskID + "/start"}
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(c, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	return s.rt.RoundTrip(req)
}

// startTaskError starts a task expecting a refusal, and returns its status.
func (s *suite) startTaskError(t *testing.T, containerID, taskID string) (int, string) {
	t.Helper()
	resp, err := s.startTaskRequest(t, containerID, taskID, attachOpts{stdout: true})
	if err != nil {
		t.Fatalf("start task %s: %v", taskID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("start task %s was accepted", taskID)
	}
	return resp.StatusCode, responseText(resp)
}

func taskStateText(st *models.TaskState) string {
	if st == nil {
		return "(no state)"
	}
	return fmt.Sprintf("status %s running %v pid %d exit %d error %q started %q finished %q",
		st.Status, st.Running, st.Pid, st.ExitCode, st.Error, st.StartedAt, st.FinishedAt)
}
