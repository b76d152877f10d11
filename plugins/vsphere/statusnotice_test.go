package vsphere

import (
	"context"
	"log/slog"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// TestStatusNoticeWithoutWatch stops the backend's watch of the inventory, so that only the guest's status
// notices on its serial line tell the backend that the guest wrote its status: the start still sees the
// process running, and the exit is noted ("die") and wakes the waiters.
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

	// Nothing else wakes waiters now: the next change they see is the exit's notice.
	next := e.b.ctr.watch.next()
	if err := g.exit(ctx, 3); err != nil {
		t.Fatal(err)
	}
	select {
	case <-next.done:
	case <-ctx.Done():
		t.Fatal("the exit's status notice woke no waiter")
	}
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

// TestBogusStatusNoticeIgnored: a status notice that is not one (garbage, an unknown state, a negative boot)
// asks for no read of the VM, and a notice for a container the backend does not know (of another VCH, say)
// wakes no waiter.
func TestBogusStatusNoticeIgnored(t *testing.T) {
	a := &attachListener{log: slog.New(slog.DiscardHandler)}
	notices := make(chan struct{}, 1)
	id := testID("bogus")
	for _, p := range []string{"", "garbage", "[]", `{"state":"dancing","boot":1}`, `{"state":"running","boot":-1}`, `"running"`} {
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
