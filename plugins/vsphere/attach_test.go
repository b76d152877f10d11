package vsphere

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// startWithFakeGuest starts the container while a fakeGuest boots it.
func (e *containerEnv) startWithFakeGuest(t *testing.T, info *models.ContainerInfo) (*fakeGuest, *models.ContainerInfo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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

// frames reads Docker's multiplexed frames from r until want bytes of payload arrived on the streams.
func readFrames(t *testing.T, r io.Reader, want int) map[byte]string {
	t.Helper()
	got := map[byte]string{}
	n := 0
	for n < want {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("frame header: %v (have %q)", err, got)
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("frame: %v", err)
		}
		got[hdr[0]] += string(p)
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
	info := e.create(t, spec("life", "", wire.ContainerConfig{Path: "/bin/cat", OpenStdin: true}, map[string]string{"image": "busybox"}))
	id := *info.ID
	if _, err := e.b.Attach(ctx, id, sdk.AttachOptions{Stdout: true}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("attach to a created container: %v, want conflict", err)
	}

	g, started := e.startWithFakeGuest(t, info)
	if *started.State.Status != statusRunning || !started.State.Running || started.State.Boot != 1 || started.State.Pid != 1 {
		t.Fatalf("started: %+v", started.State)
	}
	if _, err := e.b.StartContainer(ctx, id); !errors.Is(err, errdefs.ErrNotModified) {
		t.Errorf("start a running container: %v, want not modified", err)
	}

	// One attach with every stream, multiplexed; stdin comes back echoed on stdout.
	att, err := e.b.Attach(ctx, id, sdk.AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() }) // the sdk closes the exchange after Serve
	served := make(chan error, 1)
	go func() { served <- att.Serve(ctx, server) }()
	got := readFrames(t, client, len("hello\noops\n"))
	if got[1] != "hello\n" || got[2] != "oops\n" {
		t.Fatalf("attach output %q", got)
	}
	if _, err := client.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, client, 5); got[1] != "ping\n" {
		t.Fatalf("echo %q", got)
	}

	// A second attach at the same time detaches with ctrl-p ctrl-q; the bytes before the keys go through.
	att2, err := e.b.Attach(ctx, id, sdk.AttachOptions{Stdin: true, Stdout: true, DetachKeys: []byte{16, 17}})
	if err != nil {
		t.Fatalf("second Attach: %v", err)
	}
	client2, server2 := net.Pipe()
	t.Cleanup(func() { client2.Close(); server2.Close() })
	served2 := make(chan error, 1)
	go func() { served2 <- att2.Serve(ctx, server2) }()
	if got := readFrames(t, client2, len("hello\n")); got[1] != "hello\n" || got[2] != "" {
		t.Fatalf("second attach (stdout only) %q", got)
	}
	go func() { _, _ = client2.Write([]byte("x\x10")) }()
	if got := readFrames(t, client2, 1); got[1] != "x" {
		t.Fatalf("echo before detach %q", got)
	}
	go func() { _, _ = client2.Write([]byte("\x11")) }()
	select {
	case err := <-served2:
		if err != nil {
			t.Fatalf("detached Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the detach keys did not end the attach")
	}
	client2.Close()

	if err := e.b.Resize(ctx, id, 40, 120); err != nil {
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
			t.Errorf("first Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the attach did not end with the process")
	}
	st, err := e.b.WaitContainer(ctx, id, "not-running")
	if err != nil || st.ExitCode != 143 {
		t.Errorf("WaitContainer: %+v %v", st, err)
	}

	var actions []string
	deadline := time.After(10 * time.Second)
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
	info := e.create(t, spec("stubborn", "", wire.ContainerConfig{Path: "/bin/sleep"}, nil))
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
	case <-time.After(10 * time.Second):
		t.Fatal("next-exit wait did not end")
	}
	if err := e.b.SignalContainer(ctx, *info.ID, "KILL"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("signal a stopped container: %v, want conflict", err)
	}
	if err := e.b.RemoveContainer(ctx, *info.ID, false); err != nil {
		t.Errorf("remove a stopped container: %v", err)
	}
}

// TestRemoveRunningNeedsForce checks that a running container is only removed with force.
func TestRemoveRunningNeedsForce(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	info := e.create(t, spec("busy", "", wire.ContainerConfig{Path: "/bin/sleep"}, nil))
	e.startWithFakeGuest(t, info)
	if err := e.b.RemoveContainer(ctx, *info.ID, false); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("remove running: %v, want conflict", err)
	}
	removed := make(chan error, 1)
	go func() {
		_, err := e.b.WaitContainer(ctx, *info.ID, "removed")
		removed <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the wait begin: it must see the removal, not a missing container
	if err := e.b.RemoveContainer(ctx, *info.ID, true); err != nil {
		t.Fatalf("remove with force: %v", err)
	}
	if err := <-removed; err != nil {
		t.Errorf("wait removed: %v", err)
	}
}
