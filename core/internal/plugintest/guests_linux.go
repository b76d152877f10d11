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
		if alive(pid) {
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
	// Wait until each killed guest has died (a zombie or gone): its executable's link disappears while it
	// is still exiting, so the PIDs themselves are watched rather than the directory. The kernel then
	// tears its namespaces down before the directories are removed.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !anyAlive(pids) {
			break
		}
	}
	return pids
}

// anyAlive says whether one of pids is still a process that has not exited.
func anyAlive(pids []int) bool {
	for _, pid := range pids {
		if alive(pid) {
			return true
		}
	}
	return false
}

// alive says whether pid is a process that has not exited: neither gone nor a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}
