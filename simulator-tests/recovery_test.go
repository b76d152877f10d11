package simulatortests

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tetherPIDs lists the PID-1 processes of the guests of the emulator whose run dir is runDir: it runs each
// guest's tether from below it. Other tests on the machine (other packages run in parallel) have guests too.
func tetherPIDs(runDir string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && filepath.Base(exe) == "tether" && strings.HasPrefix(exe, runDir+string(filepath.Separator)) &&
			processAlive(pid) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// TestEndpointRecovery kills the endpoint and its plugin with SIGKILL while three containers run: a new
// endpoint must list them from the inventory, still running in the same guests, and serve logs, attach
// and stop for them.
func TestEndpointRecovery(t *testing.T) {
	g := startGuestVCH(t)
	before := tetherPIDs(g.runDir)
	loop := "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"
	var ids []string
	for i := range 3 {
		ids = append(ids, strings.TrimSpace(g.ok(t, "run", "-d", "--name", fmt.Sprintf("rec%d", i), g.image("busybox"), "sh", "-c", loop)))
	}
	var guests []int
	waitFor(t, 20*time.Second, "three guests", func() bool {
		guests = slices.DeleteFunc(tetherPIDs(g.runDir), func(p int) bool { return slices.Contains(before, p) })
		return len(guests) == 3
	})

	plugin := pluginPID(t, g.vch)
	if err := syscall.Kill(g.engine.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(plugin, syscall.SIGKILL)
	_ = g.engine.Wait()
	waitFor(t, 5*time.Second, "the plugin to die", func() bool { return !processAlive(plugin) })
	g.startEngine(t)

	ps := g.ok(t, "ps", "-q", "--no-trunc")
	for _, id := range ids {
		if !strings.Contains(ps, id) {
			t.Fatalf("container %s is not listed as running after the restart:\n%s", id[:12], ps)
		}
	}
	for _, pid := range guests {
		if !processAlive(pid) {
			t.Fatalf("guest process %d stopped while the endpoint restarted", pid)
		}
	}

	if out := g.ok(t, "logs", "--tail", "3", "rec0"); !strings.Contains(out, "tick") {
		t.Fatalf("logs after the restart:\n%s", out)
	}
	attachSeesOutput(t, g, "rec1")
	g.ok(t, "stop", "-t", "1", "rec2")
	if st := strings.TrimSpace(g.ok(t, "container", "inspect", "--format", "{{.State.Status}}", "rec2")); st != "exited" {
		t.Fatalf("rec2 is %s after stop", st)
	}
	g.ok(t, "rm", "-f", "rec0", "rec1", "rec2")
	waitFor(t, 15*time.Second, "the guests to go", func() bool {
		for _, pid := range guests {
			if processAlive(pid) {
				return false
			}
		}
		return true
	})
}

// attachSeesOutput attaches without stdin and waits for a fresh "tick" line, then leaves.
func attachSeesOutput(t *testing.T, g *guestVCH, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "-H", g.host, "attach", "--no-stdin", name)
	cmd.Env = append(os.Environ(), g.env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "tick ") {
			return
		}
	}
	t.Fatalf("docker attach %s ended without output: %v", name, sc.Err())
}
