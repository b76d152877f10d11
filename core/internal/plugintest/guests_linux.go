package plugintest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// guestsUnder lists the live processes whose executable lives below dir: a guest's tether runs from the
// emulator's run directory.
func guestsUnder(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || !strings.HasPrefix(exe, dir+"/") {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && !strings.Contains(string(stat), ") Z ") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killGuestsUnder kills the guests below dir and returns their PIDs. Killing a guest's PID 1 ends its whole
// PID namespace, and the kernel unmounts the guest's root with its mount namespace.
func killGuestsUnder(dir string) []int {
	var pids []int
	for _, pid := range guestsUnder(dir) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			pids = append(pids, pid)
		}
	}
	// Give the kernel a moment to tear the namespaces down before the directories are removed.
	for deadline := time.Now().Add(5 * time.Second); len(pids) > 0 && time.Now().Before(deadline); {
		if len(guestsUnder(dir)) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return pids
}
