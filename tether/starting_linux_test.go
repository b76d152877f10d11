package tether_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vice-engine/vice/tether/wire"
)

// TestStartingWhenHeld holds the process for an attach that comes late: the tether says "starting" while it
// waits, and its later statuses still come after it, in order ("running" only when the process outlived
// runningAfter, which "exit 3" does only on a busy machine).
func TestStartingWhenHeld(t *testing.T) {
	g := startGuest(t, wire.ContainerConfig{Path: "sh", Args: []string{"-c", "exit 3"}, RunBlock: true})
	var mu sync.Mutex
	var states []string
	g.gi.mu.Lock()
	g.gi.refuse = func(key, value string) bool {
		if key == wire.KeyStatus {
			for _, s := range []string{wire.StateStarting, wire.StateRunning, wire.StateExited} {
				if strings.Contains(value, `"state":"`+s+`"`) {
					mu.Lock()
					states = append(states, s)
					mu.Unlock()
				}
			}
		}
		return false
	}
	g.gi.mu.Unlock()
	g.waitState(wire.StateStarting)
	a := attach(t, g.dial())
	if code := a.wait(t); code != 3 {
		t.Errorf("exit-status %d, want 3", code)
	}
	g.wait()
	mu.Lock()
	defer mu.Unlock()
	want := []string{wire.StateStarting, wire.StateExited}
	if slices.Contains(states, wire.StateRunning) {
		want = []string{wire.StateStarting, wire.StateRunning, wire.StateExited}
	}
	if strings.Join(states, ",") != strings.Join(want, ",") {
		t.Fatalf("statuses written %v, want %v", states, want)
	}
}
