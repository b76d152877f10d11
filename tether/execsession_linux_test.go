package tether_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// longRunning is a main process that outlives the tests' sessions.
var longRunning = wire.ContainerConfig{Path: "sleep", Args: []string{"600"}, Hostname: "box"}

// addSession records a session's config the way the VCH does (a guestinfo key).
func (g *guest) addSession(cfg wire.SessionConfig) {
	g.t.Helper()
	b, err := json.Marshal(cfg)
	must(g.t, err)
	g.gi.mu.Lock()
	g.gi.m[wire.SessionKey(cfg.ID)] = string(b)
	g.gi.mu.Unlock()
}

// openSession opens a session channel; it returns the attachment, or the rejection.
func openSession(t *testing.T, c *ssh.Client, id string) (*attachment, error) {
	t.Helper()
	ch, reqs, err := c.OpenChannel(wire.ChannelSession, []byte(id))
	if err != nil {
		return nil, err
	}
	return newAttachment(ch, reqs), nil
}

func sessionStatus(t *testing.T, c *ssh.Client, id string) (wire.SessionStatus, bool) {
	t.Helper()
	ok, payload, err := c.SendRequest(wire.RequestSessionStatus, true, []byte(id))
	must(t, err)
	var st wire.SessionStatus
	if ok {
		must(t, json.Unmarshal(payload, &st))
	}
	return st, ok
}

// TestExecSession runs sessions beside the main process: their own user, env and working directory,
// stdout and stderr apart, the exit code on the channel and in the status.
func TestExecSession(t *testing.T) {
	g := startGuest(t, longRunning)
	c := g.dial()
	g.waitState(wire.StateRunning)
	g.addSession(wire.SessionConfig{ID: "s1", Path: "sh", Args: []string{"-c", "id -un; pwd; echo $A $HOSTNAME; echo err >&2; exit 3"},
		Env: []string{"A=b"}, User: "nobody", WorkingDir: "/tmp"})
	a, err := openSession(t, c, "s1")
	must(t, err)
	if code := a.wait(t); code != 3 {
		t.Errorf("exit-status %d, want 3", code)
	}
	if out, errOut := a.output(); out != "nobody\n/tmp\nb box\n" || errOut != "err\n" {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
	st, ok := sessionStatus(t, c, "s1")
	if !ok || st.State != wire.SessionExited || st.ExitCode != 3 || st.Pid == 0 || st.StartedAt.IsZero() || st.FinishedAt.IsZero() {
		t.Errorf("status %+v (found %v)", st, ok)
	}
	// A session runs once.
	if _, err := openSession(t, c, "s1"); !rejected(err, wire.RejectStarted) {
		t.Errorf("second start of a session: %v", err)
	}
	if _, err := openSession(t, c, "never-recorded"); !rejected(err, wire.RejectUnknown) {
		t.Errorf("start of an unknown session: %v", err)
	}
	if _, ok := sessionStatus(t, c, "never-recorded"); ok {
		t.Error("status of an unknown session answered")
	}
	// The config may come with the channel instead of guestinfo.
	cfg, _ := json.Marshal(wire.SessionConfig{ID: "given", Path: "echo", Args: []string{"from the channel"}})
	given, err := openSession(t, c, string(cfg))
	must(t, err)
	if code := given.wait(t); code != 0 {
		t.Errorf("exit-status %d", code)
	}
	if out, _ := given.output(); out != "from the channel\n" {
		t.Errorf("stdout %q", out)
	}
	// The main process is untouched.
	if st := g.status(); st.State != wire.StateRunning {
		t.Errorf("main process %+v", st)
	}
}

func rejected(err error, reason ssh.RejectionReason) bool {
	var oce *ssh.OpenChannelError
	return errors.As(err, &oce) && oce.Reason == reason
}

// TestExecSessionStartFailure: a missing or non-executable file is rejected with Docker's message, and the
// status keeps Docker's exit code.
func TestExecSessionStartFailure(t *testing.T) {
	g := startGuest(t, longRunning)
	c := g.dial()
	g.waitState(wire.StateRunning)
	for _, tc := range []struct {
		id, path string
		code     int
		msg      string
	}{
		{"missing", "/nonexistent", 127, "no such file or directory"},
		{"notexec", "/etc/passwd", 126, "permission denied"},
		{"notinpath", "nosuchcommand", 127, "executable file not found in $PATH"},
	} {
		g.addSession(wire.SessionConfig{ID: tc.id, Path: tc.path})
		_, err := openSession(t, c, tc.id)
		if !rejected(err, wire.RejectStartFailed) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v", tc.id, err)
		}
		st, ok := sessionStatus(t, c, tc.id)
		if !ok || st.State != wire.SessionExited || st.ExitCode != tc.code || !strings.Contains(st.Error, tc.msg) {
			t.Errorf("%s: status %+v", tc.id, st)
		}
	}
}

// TestExecSessionStdinTTY drives a shell on a tty: its initial size, a resize, input, and the exit code.
func TestExecSessionStdinTTY(t *testing.T) {
	g := startGuest(t, longRunning)
	c := g.dial()
	g.waitState(wire.StateRunning)
	g.addSession(wire.SessionConfig{ID: "tty", Path: "sh", Tty: true, OpenStdin: true, Rows: 30, Cols: 100})
	a, err := openSession(t, c, "tty")
	must(t, err)
	write := func(s string) {
		t.Helper()
		if _, err := a.ch.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write("stty size\r")
	waitFor(t, func() bool { out, _ := a.output(); return strings.Contains(out, "30 100") })
	b, _ := json.Marshal(wire.SessionResize{ID: "tty", Rows: 40, Cols: 120})
	if ok, _, err := c.SendRequest(wire.RequestSessionResize, true, b); err != nil || !ok {
		t.Fatalf("resize: %v %v", ok, err)
	}
	write("stty size; tty\r")
	waitFor(t, func() bool { out, _ := a.output(); return strings.Contains(out, "40 120") })
	write("exit 7\r")
	if code := a.wait(t); code != 7 {
		t.Errorf("exit-status %d", code)
	}
	if out, _ := a.output(); !strings.Contains(out, "/dev/pts/") {
		t.Errorf("tty output %q", out)
	}
}

// TestExecSessionStdinEOF: the end of the channel's input is the end of the process's stdin.
func TestExecSessionStdinEOF(t *testing.T) {
	g := startGuest(t, longRunning)
	c := g.dial()
	g.waitState(wire.StateRunning)
	g.addSession(wire.SessionConfig{ID: "cat", Path: "cat", OpenStdin: true})
	a, err := openSession(t, c, "cat")
	must(t, err)
	if _, err := a.ch.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	must(t, a.ch.CloseWrite())
	if code := a.wait(t); code != 0 {
		t.Errorf("exit-status %d", code)
	}
	if out, _ := a.output(); out != "ping\n" {
		t.Errorf("stdout %q", out)
	}
}

// TestExecSessionDetached: a session whose channel closes runs on; a signal ends it, and the VCH hears of
// its end on every connection, the one that reconnected too.
func TestExecSessionDetached(t *testing.T) {
	g := startGuest(t, longRunning)
	c := g.dial()
	g.waitState(wire.StateRunning)
	g.addSession(wire.SessionConfig{ID: "bg", Path: "sh", Args: []string{"-c", "touch /started; sleep 600"}})
	a, err := openSession(t, c, "bg")
	must(t, err)
	a.ch.Close()
	c.Close() // the VCH goes away; the session does not
	c2 := dialWithExits(t, g)
	waitFor(t, func() bool { st, _ := sessionStatus(t, c2.Client, "bg"); return st.State == wire.SessionRunning })
	b, _ := json.Marshal(wire.SessionSignal{ID: "bg", Signal: "TERM"})
	if ok, _, err := c2.SendRequest(wire.RequestSessionSignal, true, b); err != nil || !ok {
		t.Fatalf("signal: %v %v", ok, err)
	}
	select {
	case st := <-c2.exits:
		if st.ID != "bg" || st.State != wire.SessionExited || st.ExitCode != 128+15 {
			t.Errorf("session-exit %+v", st)
		}
	case <-time.After(guestWait):
		t.Fatal("no session-exit request")
	}
}

// TestExecSessionsAtOnce starts many sessions together.
func TestExecSessionsAtOnce(t *testing.T) {
	g := startGuest(t, longRunning)
	c := g.dial()
	g.waitState(wire.StateRunning)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("many-%d", i)
		g.addSession(wire.SessionConfig{ID: id, Path: "sh", Args: []string{"-c", fmt.Sprintf("echo %d; exit %d", i, i)}})
		wg.Go(func() {
			a, err := openSession(t, c, id)
			if err != nil {
				t.Error(err)
				return
			}
			if code := a.wait(t); code != i {
				t.Errorf("%s: exit %d", id, code)
			}
			if out, _ := a.output(); out != fmt.Sprintf("%d\n", i) {
				t.Errorf("%s: stdout %q", id, out)
			}
		})
	}
	wg.Wait()
}

// TestTopAndStats: the process table without the tether, ps's formats, refused arguments, and a stats
// sample of the machine.
func TestTopAndStats(t *testing.T) {
	g := startGuest(t, longRunning)
	c := g.dial()
	g.waitState(wire.StateRunning)
	top := func(args ...string) (wire.ProcessTable, string) {
		b, _ := json.Marshal(wire.TopRequest{Args: args})
		ok, payload, err := c.SendRequest(wire.RequestTop, true, b)
		must(t, err)
		if !ok {
			var e wire.ReplyError
			_ = json.Unmarshal(payload, &e)
			return wire.ProcessTable{}, e.Error
		}
		var pt wire.ProcessTable
		must(t, json.Unmarshal(payload, &pt))
		return pt, ""
	}
	pt, errText := top("-ef")
	if errText != "" || strings.Join(pt.Titles, " ") != "UID PID PPID C STIME TTY TIME CMD" {
		t.Fatalf("top -ef: %+v %s", pt, errText)
	}
	if len(pt.Processes) != 1 || pt.Processes[0][0] != "root" || pt.Processes[0][2] != "1" || pt.Processes[0][7] != "sleep 600" {
		t.Errorf("processes %q", pt.Processes)
	}
	pt, _ = top("aux")
	if strings.Join(pt.Titles, " ") != "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND" || len(pt.Processes) != 1 {
		t.Errorf("top aux: %+v", pt)
	}
	pt, _ = top("-o", "pid,comm,user=WHO")
	if strings.Join(pt.Titles, " ") != "PID COMMAND WHO" || pt.Processes[0][1] != "sleep" {
		t.Errorf("top -o: %+v", pt)
	}
	if _, errText := top("--bogus"); errText == "" {
		t.Error("top --bogus answered")
	}

	ok, payload, err := c.SendRequest(wire.RequestStats, true, nil)
	must(t, err)
	var st wire.Stats
	if !ok || json.Unmarshal(payload, &st) != nil {
		t.Fatalf("stats: %v %s", ok, payload)
	}
	if st.Read.IsZero() || st.CPU.System == 0 || st.CPU.Online == 0 || st.Memory.Limit == 0 || st.Memory.Usage == 0 || st.Pids.Current == 0 {
		t.Errorf("stats %+v", st)
	}
}

// exitWatcher is a VCH connection that collects the tether's session-exit requests.
type exitWatcher struct {
	*ssh.Client
	exits chan wire.SessionStatus
}

func dialWithExits(t *testing.T, g *guest) *exitWatcher {
	t.Helper()
	c := g.dialRaw()
	w := &exitWatcher{exits: make(chan wire.SessionStatus, 16)}
	w.Client = ssh.NewClient(c.conn, c.chans, filterExits(c.reqs, w.exits))
	t.Cleanup(func() { w.Close() })
	ok, id, err := w.SendRequest(wire.RequestContainerID, true, nil)
	if err != nil || !ok || string(id) != g.cfg.ID {
		t.Fatalf("container id: %v %q %v", ok, id, err)
	}
	return w
}

func filterExits(in <-chan *ssh.Request, exits chan<- wire.SessionStatus) <-chan *ssh.Request {
	out := make(chan *ssh.Request)
	go func() {
		defer close(out)
		for r := range in {
			if r.Type == wire.RequestSessionExit {
				var st wire.SessionStatus
				if json.Unmarshal(r.Payload, &st) == nil {
					exits <- st
				}
				continue
			}
			out <- r
		}
	}()
	return out
}
