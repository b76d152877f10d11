package tether

import (
	"testing"
	"time"
)

// inflight's wait: at once when nothing is under way, until the last end, and no longer than its bound.
func TestInflightWait(t *testing.T) {
	var f inflight
	if !f.wait(0) {
		t.Fatal("wait with nothing under way")
	}
	f.begin()
	f.begin()
	if f.wait(10 * time.Millisecond) {
		t.Fatal("wait returned while two were under way")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.end()
		f.end()
	}()
	if !f.wait(10 * time.Second) {
		t.Fatal("wait did not see the last end")
	}
	f.begin() // a new round after a wait
	go f.end()
	if !f.wait(10 * time.Second) {
		t.Fatal("the second wait did not see its end")
	}
}
