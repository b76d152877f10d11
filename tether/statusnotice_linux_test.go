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
// attach: the "starting" written before the line came up arrives once the line is up, "running" and "exited"
// as they are written, the exit before the tether halts, and each only once guestinfo has been given it.
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
	go func() {
		defer close(notices)
		for r := range raw.reqs {
			if r.Type == wire.RequestStatus {
				var n wire.StatusNotice
				if err := json.Unmarshal(r.Payload, &n); err != nil {
					t.Errorf("status notice %q: %v", r.Payload, err)
				}
				mu.Lock()
				if !slices.Contains(written, n) {
					t.Errorf("notice %+v before guestinfo was given it (given %+v)", n, written)
				}
				mu.Unlock()
				notices <- n
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
			got = append(got, n.State)
		case <-timeout:
			t.Fatalf("the line did not end after the tether halted (notices so far: %v)", got)
		}
	}
	want := []string{wire.StateStarting, wire.StateRunning, wire.StateExited}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("status notices %v, want %v", got, want)
	}
}
