package tether

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A user without inotify instances left (EMFILE) gets one when another is freed within the wait; past the
// wait, or for another error, the error is returned.
func TestOpenInotifyWaitsForAnInstance(t *testing.T) {
	calls := 0
	fd, err := openInotify(func() (int, error) {
		if calls++; calls < 4 {
			return -1, unix.EMFILE
		}
		return 7, nil
	}, time.Minute)
	if fd != 7 || err != nil || calls != 4 {
		t.Errorf("after three EMFILE: fd %d, err %v, %d calls", fd, err, calls)
	}

	begin := time.Now()
	if _, err := openInotify(func() (int, error) { return -1, unix.EMFILE }, 200*time.Millisecond); !errors.Is(err, unix.EMFILE) {
		t.Errorf("EMFILE for ever: %v", err)
	} else if time.Since(begin) < 200*time.Millisecond {
		t.Errorf("gave up after %s, before the wait", time.Since(begin))
	}

	calls = 0
	if _, err := openInotify(func() (int, error) { calls++; return -1, unix.ENOSYS }, time.Minute); !errors.Is(err, unix.ENOSYS) || calls != 1 {
		t.Errorf("ENOSYS: %v after %d calls, want it at once", err, calls)
	}
}
