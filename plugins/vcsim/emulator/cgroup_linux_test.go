package emulator

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// A thread that enters a guest's v1 cgroups forks into them, and leaves them again: the move names the
// thread itself ("0"), which must move it and nothing else.
func TestEnterThread(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may make cgroups")
	}
	c, err := newGuestCgroup("enter-test")
	if err != nil {
		t.Skip("no cgroup hierarchy to make a guest's cgroup in:", err)
	}
	defer func() {
		if err := c.remove(); err != nil {
			t.Error(err)
		}
	}()
	if len(c.v1) == 0 {
		t.Skip("no v1 hierarchy: the unified one is entered with CLONE_INTO_CGROUP")
	}
	// inGuest counts the hierarchies in which the cgroup file lists the guest's cgroup.
	inGuest := func(cgroupFile string) int {
		b, err := os.ReadFile(cgroupFile)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(line, "/"+c.name) {
				n++
			}
		}
		return n
	}

	errs := make(chan error, 1)
	go func() {
		// The thread stays locked: should leave fail, it ends with the goroutine rather than stay in the
		// guest's cgroups, which could then not be removed.
		runtime.LockOSThread()
		errs <- func() error {
			leave := c.enterThread()
			entered := inGuest("/proc/thread-self/cgroup")
			cmd := exec.Command("/bin/busybox", "sleep", "60")
			startErr := cmd.Start()
			leave()
			if startErr != nil {
				return startErr
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			switch child, left := inGuest(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid)), inGuest("/proc/thread-self/cgroup"); {
			case entered != len(c.v1) || entered == 0:
				return fmt.Errorf("the thread entered %d hierarchies of %d", entered, len(c.v1))
			case child != len(c.v1):
				return fmt.Errorf("the child is in %d of the guest's %d hierarchies", child, len(c.v1))
			case left != 0:
				return fmt.Errorf("the thread is still in %d of the guest's hierarchies", left)
			}
			return nil
		}()
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if n := inGuest("/proc/self/cgroup"); n != 0 {
		t.Fatalf("the process's main thread is in %d of the guest's hierarchies", n)
	}
}
