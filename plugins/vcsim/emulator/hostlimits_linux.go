package emulator

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// guestInotifyInstances is the number of inotify instances the emulator makes sure root may hold.
const guestInotifyInstances = 1024

// inotifyInstancesSysctl is the kernel's per-user limit on inotify instances.
const inotifyInstancesSysctl = "/proc/sys/fs/inotify/max_user_instances"

// raiseInotifyInstances makes sure the host lets root hold an inotify instance for every guest. A tether learns
// the order of its process's writes to stdout and stderr from one (tether/writeorder_linux.go); in a VM it is
// alone with its kernel's limit, here every guest's tether is root of this one kernel, whose default limit
// (128) leaves a fleet's later guests without one, their output's order guessed. As a hypervisor's host is
// provisioned for its VMs, the limit is raised when it is lower, never lowered; where it cannot be (not root,
// a read-only /proc/sys) the guests beyond it guess.
func raiseInotifyInstances(log *slog.Logger) {
	b, err := os.ReadFile(inotifyInstancesSysctl)
	if err != nil {
		return
	}
	cur, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || cur >= guestInotifyInstances {
		return
	}
	if err := os.WriteFile(inotifyInstancesSysctl, []byte(strconv.Itoa(guestInotifyInstances)), 0o644); err != nil {
		log.Debug("the host's inotify instance limit stays", "limit", cur, "err", err)
		return
	}
	log.Info("raised the host's inotify instance limit for the guests' tethers", "from", cur, "to", guestInotifyInstances)
}
