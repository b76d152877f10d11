package plugintest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const (
	dirPrefix = "vice-plugintest-"
	ownerFile = "owner.pid" // the PID of the test process that made the directory
)

// sweepStale cleans up after test processes that died without their cleanup (a test binary killed at its
// timeout takes its plugin with it, through pluginhost's parent-death signal, but not the plugin's guests):
// it kills the guests of every harness directory whose owner is gone, and removes the directory.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being made, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil {
			continue // its owner still runs
		}
		killGuestsUnder(filepath.Join(dir, "tmp"))
		os.RemoveAll(dir)
	}
}
