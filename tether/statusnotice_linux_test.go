package tether_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// TestStatusNotices follows the status notices on a line the VCH opens while the process is held for an
// attach: the "starting" written before the line came up arrives once the line is up, then the process's
// start (pending: its "running" is written only if the process runs for a while, which "exit 3" may not),
// then "exited" as it is written, before the tether halts. A notice that is not pending comes only once
// guestinfo has been given its status.
func TestStatusNotices(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "exit 3"}, RunBlock: true, Boot: 2})
	var mu sync.Mutex
	var written []wire.StatusNotice // the statuses guestinfo was given, in order
	g.gi.mu.Lock()
	g.gi.refuse = func(key, value string) bool {
		if key == wire.KeyStatus {
			var st wire.GuestStatus
			if err := json.Unmarshal([]byte(value), &st); err != nil {
				t.Errorf("status %q: %v", value, err)
			}
			mu.Lock()
			written = append(written, wire.StatusNotice{State: st.State, Boot: st.Boot})
			mu.Unlock()
		}
		return false
	}
	g.gi.mu.Unlock()
	g.waitState(wire.StateStarting)

	raw := g.dialRaw()
	notices := make(chan wire.StatusNotice, 16)
	followNotices(t, raw, func(n wire.StatusNotice) {
		mu.Lock()
		if !n.Pending && !slices.Contains(written, wire.StatusNotice{State: n.State, Boot: n.Boot}) {
			t.Errorf("notice %+v before guestinfo was given it (given %+v)", n, written)
		}
		mu.Unlock()
		notices <- n
	}, func() { close(notices) })
	ch, reqs, err := raw.conn.OpenChannel(wire.ChannelAttach, nil)
	must(t, err)
	if code := newAttachment(ch, reqs).wait(t); code != 3 {
		t.Errorf("exit-status %d, want 3", code)
	}
	g.wait()

	var got []string
	timeout := time.After(guestWait)
	for done := false; !done; {
		select {
		case n, ok := <-notices:
			if !ok {
				done = true
				break
			}
			if n.Boot != 2 {
				t.Errorf("notice %+v: boot %d, want 2", n, n.Boot)
			}
			if n.Pending {
				if n.State != wire.StateRunning || n.Pid <= 0 || n.StartedAt.IsZero() {
					t.Errorf("pending notice %+v: want the running process's pid and start", n)
				}
				got = append(got, "pending "+n.State)
				continue
			}
			got = append(got, n.State)
		case <-timeout:
			t.Fatalf("the line did not end after the tether halted (notices so far: %v)", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var wrote []string
	for _, n := range written {
		wrote = append(wrote, n.State)
	}
	// "running" is written (and noticed) only when the process outlived runningAfter, a matter of the load.
	wantWritten := []string{wire.StateStarting, wire.StateExited}
	want := []string{wire.StateStarting, "pending " + wire.StateRunning, wire.StateExited}
	if slices.Contains(wrote, wire.StateRunning) {
		wantWritten = []string{wire.StateStarting, wire.StateRunning, wire.StateExited}
		want = []string{wire.StateStarting, "pending " + wire.StateRunning, wire.StateRunning, wire.StateExited}
	}
	if strings.Join(wrote, ",") != strings.Join(wantWritten, ",") {
		t.Errorf("statuses written %v, want %v", wrote, wantWritten)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("status notices %v, want %v", got, want)
	}
}

// TestRunningWrittenOnceUp runs a process past runningAfter: its start is noticed at once (pending), its
// "running" status is written later with the same pid and start time, then its exit, in that order.
func TestRunningWrittenOnceUp(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "read x; exit 4"}, OpenStdin: true,
		RunBlock: true, Boot: 1})
	var mu sync.Mutex
	var written []wire.GuestStatus
	g.gi.mu.Lock()
	g.gi.refuse = func(key, value string) bool {
		if key == wire.KeyStatus {
			var st wire.GuestStatus
			if err := json.Unmarshal([]byte(value), &st); err != nil {
				t.Errorf("status %q: %v", value, err)
			}
			mu.Lock()
			written = append(written, st)
			mu.Unlock()
		}
		return false
	}
	g.gi.mu.Unlock()

	raw := g.dialRaw()
	pending := make(chan wire.StatusNotice, 4)
	followNotices(t, raw, func(n wire.StatusNotice) {
		if n.Pending {
			pending <- n
		}
	}, func() {})
	ch, reqs, err := raw.conn.OpenChannel(wire.ChannelAttach, nil)
	must(t, err)
	a := newAttachment(ch, reqs)
	var n wire.StatusNotice
	select {
	case n = <-pending:
	case <-time.After(guestWait):
		t.Fatal("no notice of the process's start")
	}
	// The process waits for a line on stdin: its "running" is written while it runs.
	g.waitState(wire.StateRunning)
	_, err = ch.Write([]byte("go\n"))
	must(t, err)
	if code := a.wait(t); code != 4 {
		t.Errorf("exit-status %d, want 4", code)
	}
	g.wait()
	mu.Lock()
	defer mu.Unlock()
	var states []string
	for _, st := range written {
		if st.State == wire.StateStarting && len(states) == 0 {
			continue // a busy machine held the start past startingAfter: not what this test is about
		}
		states = append(states, st.State)
		if st.Boot != 1 || st.Pid != n.Pid || !st.StartedAt.Equal(n.StartedAt) {
			t.Errorf("status %+v: want boot 1, pid and start of the notice %+v", st, n)
		}
	}
	if want := []string{wire.StateRunning, wire.StateExited}; strings.Join(states, ",") != strings.Join(want, ",") {
		t.Fatalf("statuses written %v, want %v", states, want)
	}
}

// followNotices plays the VCH's side of raw's line: each status notice goes to notice, in order, every
// request wanting a reply gets a refusal, channels the tether opens are refused; ended runs when the line
// ends.
func followNotices(t *testing.T, raw rawConn, notice func(wire.StatusNotice), ended func()) {
	t.Helper()
	go func() {
		defer ended()
		for r := range raw.reqs {
			if r.Type == wire.RequestStatus {
				var n wire.StatusNotice
				if err := json.Unmarshal(r.Payload, &n); err != nil {
					t.Errorf("status notice %q: %v", r.Payload, err)
				}
				notice(n)
			}
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	go func() {
		for nc := range raw.chans {
			_ = nc.Reject(ssh.Prohibited, "the VCH opens the channels")
		}
	}()
}
