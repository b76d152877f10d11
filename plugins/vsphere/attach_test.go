package vsphere

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// startWithFakeGuest starts the container while a fakeGuest boots it.
func (e *containerEnv) startWithFakeGuest(t *testing.T, info *models.ContainerInfo) (*fakeGuest, *models.ContainerInfo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	g := newFakeGuest(t, e.c, info.VM, *info.ID)
	booted := g.bootWhenOn(ctx, e.b.ctr.attach.advertise)
	started, err := e.b.StartContainer(ctx, *info.ID)
	if err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	if err := <-booted; err != nil {
		t.Fatalf("fake guest: %v", err)
	}
	return g, started
}

// readFrames reads the port layer's frames from r until want bytes of payload arrived on the streams.
func readFrames(t *testing.T, r io.Reader, want int) map[byte]string {
	t.Helper()
	got := map[byte]string{}
	fr := sdk.NewFrameReader(r)
	for n := 0; n < want; {
		stream, p, err := fr.Next()
		if err != nil {
			t.Fatalf("frame: %v (have %q)", err, got)
		}
		got[stream] += string(p)
		n += len(p)
	}
	return got
}

// TestContainerLifecycleWithFakeGuest covers start, attach (multiplexed streams, stdin, detach keys), resize,
// stop and wait, with the guest played by the test. The tether and the hypervisor emulator are not involved.
func TestContainerLifecycleWithFakeGuest(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	evs, _ := e.b.Events(ctxFor(t), []string{EventTypeContainer})
	info := e.create(t, spec("life", "", models.Process{Path: "/bin/cat", OpenStdin: true}, map[string]string{"image": "busybox"}))
	id := *info.ID
	if _, err := e.b.AttachContainer(ctx, id, sdk.AttachOptions{Stdout: true}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("attach to a created container: %v, want conflict", err)
	}

	g, started := e.startWithFakeGuest(t, info)
	if *started.State.Status != statusRunning || !started.State.Running || started.State.Boot != 1 || started.State.Pid != 1 {
		t.Fatalf("started: %+v", started.State)
	}
	if _, err := e.b.StartContainer(ctx, id); !errors.Is(err, errdefs.ErrNotModified) {
		t.Errorf("start a running container: %v, want not modified", err)
	}

	// One attach with every stream, framed by stream; stdin comes back echoed on stdout.
	st, err := e.b.AttachContainer(ctx, id, sdk.AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("AttachContainer: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	got := readFrames(t, st, len("hello\noops\n"))
	if got[sdk.StreamStdout] != "hello\n" || got[sdk.StreamStderr] != "oops\n" {
		t.Fatalf("attach output %q", got)
	}
	if _, err := st.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, st, 5); got[sdk.StreamStdout] != "ping\n" {
		t.Fatalf("echo %q", got)
	}

	// A second attach at the same time, stdout only (the fake guest echoes each channel on itself); closing it
	// leaves the first one working.
	st2, err := e.b.AttachContainer(ctx, id, sdk.AttachOptions{Stdin: true, Stdout: true})
	if err != nil {
		t.Fatalf("second AttachContainer: %v", err)
	}
	if got := readFrames(t, st2, len("hello\n")); got[sdk.StreamStdout] != "hello\n" || got[sdk.StreamStderr] != "" {
		t.Fatalf("second attach (stdout only) %q", got)
	}
	if _, err := st2.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, st2, 1); got[sdk.StreamStdout] != "x" {
		t.Fatalf("echo on the second attach %q", got)
	}
	st2.Close()
	if _, err := io.ReadAll(st2); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := st.Write([]byte("still\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, st, 6); got[sdk.StreamStdout] != "still\n" {
		t.Fatalf("echo after the second attach closed %q", got)
	}
	served := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(st)
		served <- err
	}()

	if err := e.b.ResizeContainer(ctx, id, 40, 120); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	g.mu.Lock()
	sizes := g.sizes
	g.mu.Unlock()
	if len(sizes) != 1 || sizes[0] != [2]uint32{120, 40} {
		t.Errorf("window changes %v", sizes)
	}

	// Stop: the guest exits on SIGTERM with 143; the first attach sees the channel end.
	g.mu.Lock()
	g.onSignal = func(sig string) {
		if sig == "TERM" {
			_ = g.exit(context.Background(), 143)
		}
	}
	g.mu.Unlock()
	stopped, err := e.b.StopContainer(ctx, id, "", 10*time.Second)
	if err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if *stopped.State.Status != statusExited || stopped.State.ExitCode != 143 || stopped.State.FinishedAt == "" {
		t.Fatalf("stopped: %+v", stopped.State)
	}
	if m := e.vm(t, stopped); m.Runtime.PowerState != "poweredOff" {
		t.Errorf("power state after stop: %s", m.Runtime.PowerState)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("first attach's output: %v", err)
		}
	case <-time.After(testWait):
		t.Fatal("the attach did not end with the process")
	}
	ws, err := e.b.WaitContainer(ctx, id, "not-running")
	if err != nil || ws.ExitCode != 143 {
		t.Errorf("WaitContainer: %+v %v", ws, err)
	}

	var actions []string
	deadline := time.After(testWait)
	for len(actions) < 7 {
		select {
		case ev := <-evs:
			a := *ev.Action
			if a == "die" {
				a += ":" + ev.Attributes["exitCode"]
			}
			if a == "kill" {
				a += ":" + ev.Attributes["signal"]
			}
			actions = append(actions, a)
		case <-deadline:
			t.Fatalf("events so far %v", actions)
		}
	}
	want := "create start attach attach resize kill:15 die:143"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if ev := nextEvent(t, evs); *ev.Action != "stop" || ev.Attributes["image"] != "busybox" {
		t.Errorf("last event %s %v", *ev.Action, ev.Attributes)
	}
}

// TestStopPowersOffAGuestThatIgnoresTheSignal checks the timeout path: the VM goes off and the state says
// the process was killed.
func TestStopPowersOffAGuestThatIgnoresTheSignal(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	info := e.create(t, spec("stubborn", "", models.Process{Path: "/bin/sleep"}, nil))
	g, _ := e.startWithFakeGuest(t, info)

	done := make(chan *models.ContainerState, 1)
	go func() {
		st, _ := e.b.WaitContainer(ctx, *info.ID, "next-exit")
		done <- st
	}()
	stopped, err := e.b.StopContainer(ctx, *info.ID, "SIGINT", 300*time.Millisecond)
	if err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if stopped.State.ExitCode != exitKilled || stopped.State.Running {
		t.Errorf("state %+v", stopped.State)
	}
	g.mu.Lock()
	signals := g.signals
	g.mu.Unlock()
	if len(signals) != 1 || signals[0] != "INT" {
		t.Errorf("signals %v", signals)
	}
	select {
	case st := <-done:
		if st == nil || st.ExitCode != exitKilled {
			t.Errorf("next-exit wait: %+v", st)
		}
	case <-time.After(testWait):
		t.Fatal("next-exit wait did not end")
	}
	if err := e.b.SignalContainer(ctx, *info.ID, "KILL"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("signal a stopped container: %v, want conflict", err)
	}
	if err := e.b.RemoveContainer(ctx, *info.ID, false); err != nil {
		t.Errorf("remove a stopped container: %v", err)
	}
}

// TestRemoveRunningNeedsForce checks that a running container is only removed with force, and that a wait
// for its removal ends, whether it reached the backend before the removal or just after it.
func TestRemoveRunningNeedsForce(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	info := e.create(t, spec("busy", "", models.Process{Path: "/bin/sleep"}, nil))
	e.startWithFakeGuest(t, info)
	if err := e.b.RemoveContainer(ctx, *info.ID, false); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("remove running: %v, want conflict", err)
	}
	removed := make(chan error, 1)
	go func() {
		_, err := e.b.WaitContainer(ctx, *info.ID, "removed")
		removed <- err
	}()
	if err := e.b.RemoveContainer(ctx, *info.ID, true); err != nil {
		t.Fatalf("remove with force: %v", err)
	}
	if err := <-removed; err != nil {
		t.Errorf("wait removed: %v", err)
	}
	for _, cond := range []string{"removed", "not-running", "next-exit"} {
		if st, err := e.b.WaitContainer(ctx, *info.ID, cond); err != nil || st == nil || st.Running || st.ExitCode != exitKilled {
			t.Errorf("%s wait after the removal: %+v %v, want the last state", cond, st, err)
		}
	}
	if _, err := e.b.WaitContainer(ctx, testID("never"), "removed"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("wait for a container that never was: %v, want not found", err)
	}
}
