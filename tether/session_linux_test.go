package tether_test

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// TestAttach sees output on the attach channel as the log does, stderr as extended data, then the exit status.
func TestAttach(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "echo out; echo err >&2; exit 5"},
		RunBlock: true})
	c := g.dial()
	a := attach(t, c)
	if code := a.wait(t); code != 5 {
		t.Errorf("exit-status %d, want 5", code)
	}
	if stdout, stderr := a.output(); stdout != "out\n" || stderr != "err\n" {
		t.Errorf("attach stdout %q stderr %q", stdout, stderr)
	}
	g.wait()
	if st := g.status(); st.ExitCode != 5 || st.Pid == 0 || st.StartedAt.IsZero() || st.FinishedAt.IsZero() {
		t.Errorf("status %+v", st)
	}
}

// TestExitStatusRetried is a hypervisor that fails the first writes of the exit status: the tether writes
// it again before it powers off, so the VCH still learns the process's own exit code.
func TestExitStatusRetried(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "exit 5"}, RunBlock: true})
	refused := 0
	g.gi.mu.Lock()
	g.gi.refuse = func(key, value string) bool {
		if key == wire.KeyStatus && strings.Contains(value, `"state":"exited"`) && refused < 3 {
			refused++
			return true
		}
		return false
	}
	g.gi.mu.Unlock()
	a := attach(t, g.dial())
	if code := a.wait(t); code != 5 {
		t.Errorf("exit-status %d, want 5", code)
	}
	g.wait()
	g.gi.mu.Lock()
	n := refused
	g.gi.mu.Unlock()
	if st := g.status(); n != 3 || st.State != wire.StateExited || st.ExitCode != 5 {
		t.Errorf("after %d refused writes, status %+v", n, st)
	}
}

// TestAttachMany fans output out to two attach channels at once.
func TestAttachMany(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "sleep 0.3; echo both"}})
	c := g.dial()
	a1, a2 := attach(t, c), attach(t, c)
	for _, a := range []*attachment{a1, a2} {
		if code := a.wait(t); code != 0 {
			t.Errorf("exit-status %d", code)
		}
		if stdout, _ := a.output(); stdout != "both\n" {
			t.Errorf("stdout %q", stdout)
		}
	}
	g.wait()
}

// TestTTY sizes the tty before the process starts and checks a resize after it.
func TestTTY(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "stty size; read x; stty size; tty"},
		Tty: true, OpenStdin: true, RunBlock: true})
	c := g.dial()
	ctl := control(t, c)
	resize(t, ctl, 30, 100)
	a := attach(t, c)
	waitFor(t, func() bool { out, _ := a.output(); return strings.Contains(out, "30 100") })
	resize(t, ctl, 40, 120)
	if _, err := a.ch.Write([]byte("go\r")); err != nil {
		t.Fatal(err)
	}
	if code := a.wait(t); code != 0 {
		t.Errorf("exit-status %d", code)
	}
	out, stderr := a.output()
	if !strings.Contains(out, "30 100\r\n") || !strings.Contains(out, "40 120\r\n") || !strings.Contains(out, "/dev/pts/0") {
		t.Errorf("tty output %q", out)
	}
	if stderr != "" {
		t.Errorf("a tty has no separate stderr, got %q", stderr)
	}
	g.wait()
}

// TestStdinOnce feeds cat through the attach channel; closing the channel's input ends cat.
func TestStdinOnce(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "cat", OpenStdin: true, StdinOnce: true, RunBlock: true})
	a := attach(t, g.dial())
	if _, err := a.ch.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	must(t, a.ch.CloseWrite())
	if code := a.wait(t); code != 0 {
		t.Errorf("exit-status %d", code)
	}
	if out, _ := a.output(); out != "ping\n" {
		t.Errorf("cat echoed %q", out)
	}
	g.wait()
	if got := g.streamText("stdout"); got != "ping\n" {
		t.Errorf("log %q", got)
	}
}

// TestAttachInputEnd: without StdinOnce, the end of an attach's input ends that attach once the input before
// it reached the process (dockerd closes the attach's output), and leaves stdin open for the next attach.
func TestAttachInputEnd(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "read a; echo got $a; read b; echo got $b"},
		OpenStdin: true, RunBlock: true})
	c := g.dial()
	first := attach(t, c)
	if _, err := first.ch.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	must(t, first.ch.CloseWrite())
	ended := make(chan struct{})
	go func() { first.done.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(guestWait):
		t.Fatal("the attach whose input ended did not end")
	}
	second := attach(t, c)
	if _, err := second.ch.Write([]byte("y\n")); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t); code != 0 {
		t.Errorf("exit-status %d", code)
	}
	g.wait()
	if got := g.streamText("stdout"); got != "got x\ngot y\n" {
		t.Errorf("log %q: the first attach's input did not reach the process before it ended, or stdin was closed", got)
	}
}

// TestSignal stops a sleeping process with TERM through the control channel: 128+15.
func TestSignal(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sleep", Args: []string{"300"}})
	g.waitState(wire.StateRunning)
	ctl := control(t, g.dial())
	ok, err := ctl.SendRequest(wire.RequestSignal, true, ssh.Marshal(struct{ Signal string }{"TERM"}))
	if err != nil || !ok {
		t.Fatalf("signal: ok=%v err=%v", ok, err)
	}
	g.wait()
	if st := g.status(); st.ExitCode != 143 {
		t.Errorf("exit code %d, want 143", st.ExitCode)
	}
}

// TestForwardSignal sends TERM to the tether itself, as a VM's shutdown would; PID 1 passes it on.
func TestForwardSignal(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sleep", Args: []string{"300"}})
	g.waitState(wire.StateRunning)
	must(t, g.cmd.Process.Signal(syscall.SIGTERM))
	g.wait()
	if st := g.status(); st.ExitCode != 143 {
		t.Errorf("exit code %d, want 143", st.ExitCode)
	}
}

// TestReap leaves an orphan to PID 1 and then looks for zombies in the namespace while it is alive.
func TestReap(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c",
		"(sleep 0.2 &); sleep 1; for f in /proc/[0-9]*/stat; do cat $f; echo; done"}})
	g.wait()
	out := g.streamText("stdout")
	procs := 0
	for _, line := range strings.Split(out, "\n") {
		i := strings.LastIndex(line, ") ")
		if i < 0 {
			continue
		}
		procs++
		if state := strings.Fields(line[i+2:])[0]; state == "Z" {
			t.Errorf("zombie left: %s", line)
		}
	}
	if procs < 2 {
		t.Errorf("expected the tether and the shell in /proc, got %q", out)
	}
}

// TestReconnect drops the VCH's connection mid-run; the process goes on and a new connection attaches.
func TestReconnect(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "read x; echo got $x"},
		OpenStdin: true, RunBlock: true})
	c1 := g.dial()
	attach(t, c1)
	g.waitState(wire.StateRunning)
	c1.Close()

	a := attach(t, g.dial())
	if _, err := a.ch.Write([]byte("again\n")); err != nil {
		t.Fatal(err)
	}
	if code := a.wait(t); code != 0 {
		t.Errorf("exit-status %d", code)
	}
	if out, _ := a.output(); out != "got again\n" {
		t.Errorf("output %q", out)
	}
	g.wait()
}

// TestDebugLog checks the tether's own log is structured and names the container.
func TestDebugLog(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{ID: "dbg1", Path: "true"})
	g.wait()
	b, err := os.ReadFile(g.debugLog)
	must(t, err)
	if !strings.Contains(string(b), `"id":"dbg1"`) || !strings.Contains(string(b), `"msg":"exited"`) {
		t.Errorf("debug log %s", b)
	}
}

func control(t *testing.T, c *ssh.Client) ssh.Channel {
	t.Helper()
	ch, reqs, err := c.OpenChannel(wire.ChannelControl, nil)
	must(t, err)
	go ssh.DiscardRequests(reqs)
	return ch
}

func resize(t *testing.T, ctl ssh.Channel, rows, cols uint32) {
	t.Helper()
	ok, err := ctl.SendRequest(wire.RequestWindowChange, true,
		ssh.Marshal(struct{ Cols, Rows, Width, Height uint32 }{cols, rows, 0, 0}))
	if err != nil || !ok {
		t.Fatalf("window-change %dx%d: ok=%v err=%v", rows, cols, ok, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
