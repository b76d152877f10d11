package vsphere

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// TestStatusNoticeWithoutWatch stops the backend's watch of the inventory, so that only the guest's status
// notices on its serial line tell the backend that the guest wrote its status: each notice hands the waiters
// a read of the VM with that status (the start's "running", the exit's "exited"), and the exit is noted
// ("die").
func TestStatusNoticeWithoutWatch(t *testing.T) {
	e := newContainerEnv(t)
	evs, _ := e.b.Events(ctxFor(t), []string{EventTypeContainer})
	info := e.create(t, spec("noticed", "", models.Process{Path: "/bin/true"}, nil))
	id := *info.ID
	e.b.stopWatch()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()

	g := newFakeGuest(t, e.c, info.VM, id)
	g.notify = true
	// Nothing else tells waiters of changes now: every batch from here on is a notice's.
	change := e.b.ctr.watch.next()
	booted := g.bootWhenOn(ctx, e.b.ctr.attach.advertise)
	started, err := e.b.StartContainer(ctx, id)
	if err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	if err := <-booted; err != nil {
		t.Fatalf("fake guest: %v", err)
	}
	if !started.State.Running {
		t.Fatalf("started: %+v", started.State)
	}

	change = awaitNotice(ctx, t, change, g.ref, wire.StateRunning)
	if err := g.exit(ctx, 3); err != nil {
		t.Fatal(err)
	}
	awaitNotice(ctx, t, change, g.ref, wire.StateExited)
	var actions []string
	for len(actions) < 3 {
		ev := nextEvent(t, evs)
		a := *ev.Action
		if a == "die" {
			a += ":" + ev.Attributes["exitCode"]
		}
		actions = append(actions, a)
	}
	if want := []string{"create", "start", "die:3"}; !equalStrings(actions, want) {
		t.Errorf("events %v, want %v", actions, want)
	}
	st, err := e.b.WaitContainer(ctx, id, "not-running")
	if err != nil || st.ExitCode != 3 || st.Running {
		t.Errorf("WaitContainer: %+v %v", st, err)
	}
}

// TestStartOnPendingNotice: a guest that tells of its process's start before writing "running" (a pending
// notice) has its start answered on that notice alone, the watch stopped; until the status is written the
// container reads as running with the notice's pid and start time, and then with the status's.
func TestStartOnPendingNotice(t *testing.T) {
	e := newContainerEnv(t)
	info := e.create(t, spec("pending", "", models.Process{Path: "/bin/sleep", Args: []string{"1d"}}, nil))
	id := *info.ID
	e.b.stopWatch()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()

	g := newFakeGuest(t, e.c, info.VM, id)
	g.notify, g.pending = true, true
	booted := g.bootWhenOn(ctx, e.b.ctr.attach.advertise)
	started, err := e.b.StartContainer(ctx, id)
	if err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	if err := <-booted; err != nil {
		t.Fatalf("fake guest: %v", err)
	}
	wantStart := pendingStart.Format(time.RFC3339Nano)
	if st := started.State; !st.Running || st.Pid != 7 || st.StartedAt != wantStart {
		t.Fatalf("started: %+v, want running with pid 7 and start %s", st, wantStart)
	}
	got, err := e.b.GetContainer(ctx, id)
	if err != nil || !got.State.Running || got.State.Pid != 7 || got.State.StartedAt != wantStart {
		t.Fatalf("GetContainer before the status: %+v %v", got, err)
	}

	g.pending = false
	written := time.Now().UTC().Truncate(time.Millisecond)
	if err := g.setStatus(ctx, wire.GuestStatus{State: wire.StateRunning, Pid: 1, StartedAt: written}); err != nil {
		t.Fatal(err)
	}
	got, err = e.b.GetContainer(ctx, id)
	if err != nil || !got.State.Running || got.State.Pid != 1 || got.State.StartedAt != written.Format(time.RFC3339Nano) {
		t.Fatalf("GetContainer after the status: %+v %v", got, err)
	}
	if _, kept := e.b.ctr.started.get(id, g.boot); kept {
		t.Error("the notice was kept after its status was read")
	}
	if err := g.exit(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

// TestBogusStatusNoticeIgnored: a status notice that is not one (garbage, an unknown state, a negative boot)
// asks for no read of the VM, and a notice for a container the backend does not know (of another VCH, say)
// wakes no waiter.
func TestBogusStatusNoticeIgnored(t *testing.T) {
	a := &attachListener{log: slog.New(slog.DiscardHandler)}
	notices := make(chan struct{}, 1)
	id := testID("bogus")
	for _, p := range []string{"", "garbage", "[]", `{"state":"dancing","boot":1}`, `{"state":"running","boot":-1}`, `"running"`,
		`{"state":"exited","boot":1,"pending":true}`} {
		a.request(id, &ssh.Request{Type: wire.RequestStatus, Payload: []byte(p)}, notices)
		if len(notices) != 0 {
			t.Fatalf("the notice %q was taken", p)
		}
	}
	a.request(id, &ssh.Request{Type: wire.RequestStatus, Payload: []byte(`{"state":"exited","boot":2}`)}, notices)
	if len(notices) != 1 {
		t.Fatal("a well-formed notice was not taken")
	}
	a.statusChanged(id) // nothing takes notices here: ignored

	e := newContainerEnv(t)
	e.b.stopWatch() // nothing else wakes waiters
	next := e.b.ctr.watch.next()
	e.b.nudge(context.Background(), testID("a container of another VCH"))
	select {
	case <-next.done:
		t.Fatal("a notice for a container this backend does not know woke the waiters")
	default:
	}
}

// awaitNotice waits, from change on, for a batch handing the waiters a read of ref whose guest status is
// state, and returns the batch after it.
func awaitNotice(ctx context.Context, t *testing.T, change *vmChange, ref types.ManagedObjectReference, state string) *vmChange {
	t.Helper()
	for {
		select {
		case <-change.done:
		case <-ctx.Done():
			t.Fatalf("no batch of the watch handed the waiters a read of %s with status %q", ref, state)
		}
		if _, c := change.names(ref); c != nil && c.guestStatus() != nil && c.guestStatus().State == state {
			return change.next
		}
		change = change.next
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
