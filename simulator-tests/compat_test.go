package simulatortests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerWording runs what scripts match dockerd's wording and exit codes on through the docker CLI: the
// messages, the exit codes the CLI derives from them, and names and references dockerd accepts.
func TestDockerWording(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")

	t.Run("unknown user fails the start", func(t *testing.T) {
		for _, c := range []struct{ user, want string }{
			{"nosuch", "unable to find user nosuch: no matching entries in passwd file"},
			{"0:nosuch", "unable to find group nosuch: no matching entries in group file"},
		} {
			out, code := g.run(t, "run", "--rm", "-u", c.user, bb, "true")
			if code != 125 || !strings.Contains(out, "Error response from daemon: "+c.want) {
				t.Errorf("run -u %s = exit %d %q, want 125 and %q", c.user, code, out, c.want)
			}
		}
		if out := g.ok(t, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("--rm left containers after failed starts: %q", out)
		}
	})

	t.Run("remove running, kill stopped", func(t *testing.T) {
		id := strings.TrimSpace(g.ok(t, "run", "-d", "--name", "busy", bb, "sleep", "300"))
		out, code := g.run(t, "rm", "busy")
		want := `Error response from daemon: cannot remove container "/busy": container is running: stop the container before removing or force remove`
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("rm of a running container = %d %q", code, out)
		}
		g.ok(t, "rm", "-f", "busy")
		id = strings.TrimSpace(g.ok(t, "create", "--name", "idle", bb, "true"))
		out, code = g.run(t, "kill", "idle")
		want = "Error response from daemon: cannot kill container: idle: container " + id + " is not running"
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("kill of a stopped container = %d %q, want %q", code, out, want)
		}
		g.ok(t, "rm", "idle")
	})

	t.Run("no command", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty.tar")
		if err := exec.Command("tar", "cf", empty, "--files-from", "/dev/null").Run(); err != nil {
			t.Fatal(err)
		}
		g.ok(t, "import", empty, "nocmd:1")
		out, code := g.run(t, "create", "nocmd:1")
		if code != 1 || !strings.Contains(out, "Error response from daemon: no command specified") {
			t.Errorf("create of an image without Cmd or Entrypoint = %d %q", code, out)
		}
		g.ok(t, "rmi", "nocmd:1")
	})

	t.Run("missing executable", func(t *testing.T) {
		// dockerd answers the start with the runtime's error alone: nothing reaches the container's output or
		// its log, and a container that never ran stays "created", with the exit code and the error.
		out, code := g.run(t, "run", "--name", "noexec", bb, "/nonexistent")
		want := `docker: Error response from daemon: failed to create task for container: failed to create shim task: ` +
			`OCI runtime create failed: runc create failed: unable to start container process: error during container init: ` +
			`exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown`
		if code != 127 || !strings.HasPrefix(out, want) {
			t.Errorf("run of a missing executable = %d %q, want 127 and %q first", code, out, want)
		}
		if logs := g.ok(t, "logs", "noexec"); logs != "" {
			t.Errorf("logs of a container that never started = %q", logs)
		}
		st := g.ok(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", "noexec")
		if st != "created 127 exec: \"/nonexistent\": stat /nonexistent: no such file or directory\n" {
			t.Errorf("state of a container that never started = %q", st)
		}
		if ps := g.ok(t, "ps", "-a", "--filter", "status=created", "--format", "{{.Names}} {{.Status}}"); ps != "noexec Created\n" {
			t.Errorf("ps -a --filter status=created = %q", ps)
		}
		g.ok(t, "rm", "noexec")
	})

	t.Run("container reference with slashes", func(t *testing.T) {
		out, code := g.run(t, "inspect", "--type=container", bb)
		if code != 1 || !strings.Contains(out, "No such container: "+bb) {
			t.Errorf("inspect --type=container %s = %d %q", bb, code, out)
		}
	})

	t.Run("long name", func(t *testing.T) {
		name := strings.Repeat("n", 300)
		g.ok(t, "run", "--name", name, bb, "true")
		if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.Name}} {{.State.ExitCode}}", name)); got != "/"+name+" 0" {
			t.Errorf("inspect of a 300-character name = %q", got)
		}
		g.ok(t, "rename", name, name+"x")
		if got := strings.TrimSpace(g.ok(t, "ps", "-a", "--format", "{{.Names}}")); got != name+"x" {
			t.Errorf("ps after rename = %q", got)
		}
		g.ok(t, "rm", name+"x")
	})
}

// TestOldAPIClients is the docker CLI speaking older API versions, as a client of that age would: vice
// negotiates them as dockerd does and `docker version` shows the floor.
func TestOldAPIClients(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	out := g.ok(t, "version")
	if !strings.Contains(out, "API version:      1.50 (minimum version 1.12)") {
		t.Errorf("docker version does not show the floor:\n%s", out)
	}
	old := func(version string, args ...string) (string, int) {
		t.Helper()
		saved := g.env
		g.env = append(append([]string(nil), saved...), "DOCKER_API_VERSION="+version)
		defer func() { g.env = saved }()
		return g.run(t, args...)
	}
	if out, code := old("1.19", "version"); code != 0 || !strings.Contains(out, "1.19 (downgraded from 1.50)") ||
		!strings.Contains(out, "(minimum version 1.12)") {
		t.Errorf("1.19 docker version = %d\n%s", code, out)
	}
	id := strings.TrimSpace(g.ok(t, "run", "-d", "--name", "old", bb, "sleep", "300"))
	if out, code := old("1.23", "ps"); code != 0 || !strings.Contains(out, id[:12]) || !strings.Contains(out, "old") {
		t.Errorf("1.23 docker ps = %d\n%s", code, out)
	}
	if out, code := old("1.19", "inspect", "-f", "{{.Name}} {{.State.Running}}", "old"); code != 0 || strings.TrimSpace(out) != "/old true" {
		t.Errorf("1.19 docker inspect = %d %q", code, out)
	}
	if out, code := old("1.12", "kill", "old"); code != 0 {
		t.Errorf("1.12 docker kill = %d %q", code, out)
	}
	g.ok(t, "wait", "old")
	// Before 1.20 killing a container that is not running was no error.
	if out, code := old("1.19", "kill", "old"); code != 0 {
		t.Errorf("1.19 kill of a stopped container = %d %q", code, out)
	}
	// Before 1.25 the client removes a --rm container itself, after its "die" event. (The CLI may log that its
	// removal was cancelled: it returns on the "destroy" event without waiting for its own DELETE's answer.)
	if out, code := old("1.24", "run", "--rm", bb, "echo", "from 1.24"); code != 0 || !strings.HasPrefix(out, "from 1.24\n") {
		t.Errorf("1.24 docker run --rm = %d %q", code, out)
	}
	g.ok(t, "rm", "old")
	if out, code := old("1.11", "version"); code == 0 || !strings.Contains(out, "client version 1.11 is too old. Minimum supported API version is 1.12") {
		t.Errorf("1.11 docker version = %d\n%s", code, out)
	}
}
