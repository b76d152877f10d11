package simulatortests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestContainerRun is `docker run` end to end: the docker CLI, vice-engine, the vcsim plugin, containerVMs
// booted by the emulator and the tether as their PID 1.
func TestContainerRun(t *testing.T) {
	g := startGuestVCH(t)
	bb, cfgd := g.image("busybox"), g.image("configured")
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		want     string // the output's trimmed text, or a part of it when contains is set
		contains bool
	}{
		{"echo", []string{"run", "--rm", bb, "echo", "hello"}, 0, "hello", false},
		{"exit code", []string{"run", "--rm", bb, "sh", "-c", "exit 3"}, 3, "", false},
		{"not found", []string{"run", "--rm", bb, "/nonexistent"}, 127, "no such file or directory", true},
		{"env", []string{"run", "--rm", "-e", "FOO=bar", bb, "sh", "-c", "echo $FOO"}, 0, "bar", false},
		{"workdir", []string{"run", "--rm", "-w", "/tmp", bb, "pwd"}, 0, "/tmp", false},
		{"user", []string{"run", "--rm", "-u", "nobody", bb, "id", "-un"}, 0, "nobody", false},
		{"hostname", []string{"run", "--rm", "--hostname", "h1", bb, "hostname"}, 0, "h1", false},
		{"entrypoint and cmd", []string{"run", "--rm", cfgd}, 0, "entrypoint from-cmd", false},
		{"cmd replaced", []string{"run", "--rm", cfgd, "other"}, 0, "entrypoint other", false},
		{"entrypoint replaced", []string{"run", "--rm", "--entrypoint", "pwd", cfgd}, 0, "/tmp", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, code := g.run(t, c.args...)
			got := strings.TrimSpace(out)
			if code != c.code || (c.contains && !strings.Contains(got, c.want)) || (!c.contains && got != c.want) {
				t.Errorf("docker %s = exit %d %q, want %d %q", strings.Join(c.args, " "), code, got, c.code, c.want)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		if out, code := g.dockerStdin(t, "hi\n", "run", "--rm", "-i", bb, "cat"); code != 0 || out != "hi\n" {
			t.Errorf("echo hi | docker run -i cat = %d %q", code, out)
		}
	})
	if out := g.ok(t, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("--rm left containers: %q", out)
	}
}

// TestContainerLifecycle is a detached container through ps, stop, start, restart, rename, kill, wait, rm.
func TestContainerLifecycle(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	id := strings.TrimSpace(g.ok(t, "run", "-d", "--name", "web", bb, "sleep", "300"))
	if len(id) != 64 {
		t.Fatalf("run -d = %q", id)
	}
	if ps := g.ok(t, "ps"); !strings.Contains(ps, id[:12]) || !strings.Contains(ps, "Up ") || !strings.Contains(ps, "web") {
		t.Errorf("ps = %s", ps)
	}
	if out, code := g.run(t, "run", "-d", "--name", "web", bb, "true"); code == 0 ||
		!strings.Contains(out, `The container name "/web" is already in use by container "`+id+`"`) {
		t.Errorf("duplicate name = %d %s", code, out)
	}
	start := time.Now()
	g.ok(t, "stop", "-t", "5", "web")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stop took %s", d)
	}
	ps := g.ok(t, "ps", "-a", "--filter", "name=web", "--format", "{{.Status}}")
	if !strings.HasPrefix(ps, "Exited (143)") && !strings.HasPrefix(ps, "Exited (137)") {
		t.Errorf("status after stop = %q", ps)
	}
	g.ok(t, "start", "web")
	g.ok(t, "restart", "-t", "2", "web")
	if st := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Status}}", "web")); st != "running" {
		t.Errorf("after restart: %s", st)
	}
	g.ok(t, "rename", "web", "web2")
	if out, code := g.run(t, "container", "inspect", "web"); code == 0 || !strings.Contains(out, "No such") {
		t.Errorf("old name still resolves: %s", out)
	}
	g.ok(t, "kill", "-s", "USR1", "web2")
	if code := strings.TrimSpace(g.ok(t, "wait", "web2")); code != "138" {
		t.Errorf("wait after USR1 = %q", code)
	}
	if out, code := g.run(t, "kill", "web2"); code == 0 || !strings.Contains(out, "is not running") {
		t.Errorf("kill of a stopped container = %d %s", code, out)
	}
	g.ok(t, "start", "web2")
	g.ok(t, "rm", "-f", "web2")
	if out := g.ok(t, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("rm -f left %q", out)
	}
}

// TestContainerLogs checks stream separation and the tail, follow, timestamps and since options.
func TestContainerLogs(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	g.ok(t, "run", "--name", "lg", bb, "sh", "-c", "echo out1; echo err1 >&2; sleep 0.2; echo out2")
	if out, _ := g.dockerStdout(t, "logs", "lg"); out != "out1\nout2\n" {
		t.Errorf("logs stdout = %q", out)
	}
	if out := g.ok(t, "logs", "--tail", "1", "lg"); strings.TrimSpace(out) != "out2" {
		t.Errorf("--tail 1 = %q", out)
	}
	out, _ := g.dockerStdout(t, "logs", "-t", "lg")
	if first, _, _ := strings.Cut(out, "\n"); !strings.HasSuffix(first, "Z out1") || len(first) != len("2006-01-02T15:04:05.000000000Z out1") {
		t.Errorf("-t = %q", out)
	}
	if out := g.ok(t, "logs", "--since", time.Now().Add(time.Hour).Format(time.RFC3339), "lg"); out != "" {
		t.Errorf("--since the future = %q", out)
	}
	g.ok(t, "run", "-d", "--name", "ticker", bb, "sh", "-c", "for i in 1 2 3; do echo tick$i; sleep 1; done")
	if out := g.ok(t, "logs", "-f", "ticker"); out != "tick1\ntick2\ntick3\n" {
		t.Errorf("-f = %q", out)
	}
	g.ok(t, "rm", "-f", "lg", "ticker")
}

// TestManyContainers runs 50 detached containers, 8 at a time, then removes them all.
func TestManyContainers(t *testing.T) {
	if testing.Short() {
		t.Skip("50 containerVMs")
	}
	g := startGuestVCH(t)
	bb := g.image("busybox")
	guestsBefore, mountsBefore := tetherPIDs(g.runDir), overlayMounts(g.runDir)
	var mu sync.Mutex
	var ids []string
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, code := g.run(t, "run", "-d", "--name", fmt.Sprintf("many%02d", i), bb, "sleep", "600")
			if code != 0 {
				t.Errorf("run %d: %s", i, out)
				return
			}
			mu.Lock()
			ids = append(ids, strings.TrimSpace(out))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ps := strings.Fields(g.ok(t, "ps", "-q")); len(ps) != len(ids) || len(ids) != 50 {
		t.Errorf("ps shows %d running, %d started", len(ps), len(ids))
	}
	g.ok(t, append([]string{"rm", "-f"}, ids...)...)
	if out := g.ok(t, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("rm -f left %q", out)
	}
	// Every guest's PID 1 is gone (and with it its PID, mount, UTS and IPC namespaces), and no overlay
	// mount is left in the host's namespace.
	waitFor(t, 15*time.Second, "the guests' processes to end", func() bool {
		return len(slices.DeleteFunc(tetherPIDs(g.runDir), func(p int) bool { return slices.Contains(guestsBefore, p) })) == 0
	})
	if after := overlayMounts(g.runDir); after > mountsBefore {
		t.Errorf("%d overlay mounts before, %d after rm -f", mountsBefore, after)
	}
}

// dockerStdout runs the docker CLI and returns its stdout only (logs keep stderr apart).
func (g *guestVCH) dockerStdout(t *testing.T, args ...string) (string, int) {
	return g.dockerStdin(t, "", args...)
}

// overlayMounts counts the overlay mounts visible in this mount namespace below dir (a guest's root is
// mounted below the emulator's run dir, in the guest's own namespace only).
func overlayMounts(dir string) int {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		// Fields: ID, parent, major:minor, root, mount point, ...; " - " then the filesystem type.
		if f := strings.Fields(l); len(f) > 4 && strings.Contains(l, " - overlay ") &&
			strings.HasPrefix(f[4], dir+string(filepath.Separator)) {
			n++
		}
	}
	return n
}
