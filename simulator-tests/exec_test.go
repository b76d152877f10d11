package simulatortests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestExec is `docker exec` with the real CLI: output, detached sessions, user, working directory and env,
// Docker's exit codes for a missing or non-executable file, a stopped container's error, twenty sessions at
// once, an interactive shell on a real pseudo-terminal, and the exec events.
func TestExec(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	since := time.Now().Add(-time.Second).Format(time.RFC3339Nano)
	g.ok(t, "run", "-d", "--name", "ex1", bb, "sleep", "600")

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"echo", []string{"exec", "ex1", "echo", "hi"}, 0, "hi"},
		{"user workdir env", []string{"exec", "-u", "nobody", "-w", "/tmp", "-e", "A=b", "ex1", "sh", "-c", "id -un; pwd; echo $A"}, 0, "nobody\n/tmp\nb"},
		{"not found", []string{"exec", "ex1", "/nonexistent"}, 127,
			`OCI runtime exec failed: exec failed: unable to start container process: exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown`},
		{"not executable", []string{"exec", "ex1", "/etc/passwd"}, 126,
			`OCI runtime exec failed: exec failed: unable to start container process: exec: "/etc/passwd": permission denied: unknown`},
		{"exit code", []string{"exec", "ex1", "sh", "-c", "exit 7"}, 7, ""},
	} {
		out, code := g.run(t, c.args...)
		if code != c.code || strings.TrimSpace(out) != c.want {
			t.Errorf("docker %s = exit %d %q, want %d %q", strings.Join(c.args, " "), code, out, c.code, c.want)
		}
	}

	g.ok(t, "exec", "-d", "ex1", "touch", "/x")
	waitFor(t, 10*time.Second, "the detached exec's file", func() bool {
		out, code := g.run(t, "exec", "ex1", "ls", "/x")
		return code == 0 && strings.TrimSpace(out) == "/x"
	})
	if out := strings.TrimSpace(g.ok(t, "exec", "-i", "ex1", "cat")); out != "" {
		t.Errorf("exec -i cat without input = %q", out)
	}
	if out, code := g.dockerStdin(t, "piped\n", "exec", "-i", "ex1", "cat"); code != 0 || out != "piped\n" {
		t.Errorf("echo piped | docker exec -i cat = %d %q", code, out)
	}

	g.ok(t, "create", "--name", "ex-stopped", bb, "true")
	id := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.Id}}", "ex-stopped"))
	if out, code := g.run(t, "exec", "ex-stopped", "true"); code != 1 ||
		strings.TrimSpace(out) != "Error response from daemon: container "+id+" is not running" {
		t.Errorf("exec on a stopped container = %d %q", code, out)
	}

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			out, code := g.run(t, "exec", "ex1", "sh", "-c", fmt.Sprintf("echo at-once-%d; exit %d", i, i%5))
			if code != i%5 || strings.TrimSpace(out) != fmt.Sprintf("at-once-%d", i) {
				t.Errorf("exec %d of 20 at once = %d %q", i, code, out)
			}
		})
	}
	wg.Wait()

	actions := g.ok(t, "events", "--since", since, "--until", time.Now().Add(time.Second).Format(time.RFC3339Nano),
		"--filter", "container=ex1", "--format", "{{.Action}}")
	for _, want := range []string{"exec_create: echo hi", "exec_start: echo hi", "exec_die"} {
		if !strings.Contains(actions, want) {
			t.Errorf("no %q event among:\n%s", want, actions)
		}
	}
	if ids := g.ok(t, "inspect", "-f", "{{len .ExecIDs}}", "ex1"); strings.TrimSpace(ids) == "0" {
		t.Errorf("inspect lists no ExecIDs")
	}

	t.Run("interactive", func(t *testing.T) {
		term := startTerminal(t, g, "exec", "-it", "ex1", "sh")
		pos := term.expect(t, 0, "# ")
		term.typ(t, "echo hi-$((40+2))\r")
		pos = term.expect(t, pos, "hi-42")
		pos = term.expect(t, pos, "# ")
		if err := pty.Setsize(term.ptmx, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
			t.Fatal(err)
		}
		// The CLI sends the size when its SIGWINCH arrives, and the guest applies it: ask until it is there.
		for deadline := time.Now().Add(guestWait); ; {
			term.typ(t, "stty size\r")
			next := term.expect(t, pos, "# ")
			if strings.Contains(term.output()[pos:next], "40 100") {
				pos = next
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stty size never showed 40 100:\n%s", term.output())
			}
			pos = next
			time.Sleep(100 * time.Millisecond)
		}
		term.typ(t, "tty\r")
		term.expect(t, pos, "/dev/pts/")
		term.typ(t, "exit 3\r")
		if code := term.exitCode(t); code != 3 {
			t.Fatalf("docker exec -it exited %d, want 3:\n%s", code, term.output())
		}
	})
}

// TestTopStatsPause is `docker top`, `docker stats` and `docker pause` with the real CLI.
func TestTopStatsPause(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	g.ok(t, "run", "-d", "--name", "busy", bb, "sh", "-c", "while :; do :; done")
	g.ok(t, "run", "-d", "--name", "counter", bb, "sh", "-c", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.2; done")

	top := g.ok(t, "top", "counter")
	if lines := strings.Split(strings.TrimSpace(top), "\n"); len(lines) < 2 || !strings.HasPrefix(lines[0], "UID") ||
		!strings.Contains(top, "sh -c i=0") {
		t.Errorf("docker top = %s", top)
	}
	if aux := g.ok(t, "top", "counter", "aux"); !strings.HasPrefix(aux, "USER") || !strings.Contains(aux, "%MEM") {
		t.Errorf("docker top aux = %s", aux)
	}
	if out, code := g.run(t, "top", "counter", "--bogus"); code == 0 {
		t.Errorf("docker top --bogus = %s", out)
	}

	out := g.ok(t, "stats", "--no-stream", "--format", "{{json .}}", "busy", "counter")
	stats := map[string]map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var s map[string]string
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("docker stats line %q: %v", line, err)
		}
		stats[s["Name"]] = s
	}
	for _, name := range []string{"busy", "counter"} {
		s := stats[name]
		if !strings.HasSuffix(s["MemUsage"], "/ 2GiB") || strings.HasPrefix(s["MemUsage"], "0B") {
			t.Errorf("%s: memory %q, want a usage of the VM's 2GiB", name, s["MemUsage"])
		}
	}
	if cpu, _ := strconv.ParseFloat(strings.TrimSuffix(stats["busy"]["CPUPerc"], "%"), 64); cpu < 5 {
		t.Errorf("busy's CPU is %s", stats["busy"]["CPUPerc"])
	}

	g.ok(t, "pause", "counter")
	if st := g.ok(t, "ps", "--filter", "name=counter", "--format", "{{.Status}}"); !strings.Contains(st, "(Paused)") {
		t.Errorf("ps of a paused container = %q", st)
	}
	if st := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "counter")); st != "paused true true" {
		t.Errorf("inspect of a paused container = %q", st)
	}
	before := len(strings.Fields(g.ok(t, "logs", "counter")))
	time.Sleep(2 * time.Second)
	if after := len(strings.Fields(g.ok(t, "logs", "counter"))); after != before {
		t.Errorf("the paused process went on: %d log lines, then %d", before, after)
	}
	if out, code := g.run(t, "exec", "counter", "true"); code != 1 || !strings.Contains(out, "is paused, unpause the container before exec") {
		t.Errorf("exec on a paused container = %d %q", code, out)
	}
	g.ok(t, "unpause", "counter")
	waitFor(t, 10*time.Second, "the counter to go on", func() bool {
		return len(strings.Fields(g.ok(t, "logs", "counter"))) > before+3
	})
	if out, code := g.run(t, "unpause", "counter"); code != 1 || !strings.Contains(out, "is not paused") {
		t.Errorf("unpause of a running container = %d %q", code, out)
	}
}

// TestUpdateRestartHealth is `docker update`, restart policies (on-failure:N, always across an endpoint
// killed with SIGKILL, not after docker stop) and health checks with the real CLI; and an exec session that
// runs on while its endpoint restarts.
func TestUpdateRestartHealth(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")

	g.ok(t, "run", "-d", "--name", "upd", bb, "sleep", "600")
	g.ok(t, "update", "--memory", "1g", "--cpus", "2", "upd")
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", "upd")); got != "1073741824 2000000000" {
		t.Errorf("inspect after update = %q", got)
	}
	g.ok(t, "update", "--memory", "3g", "upd")
	waitFor(t, 10*time.Second, "the hot-added memory in stats", func() bool {
		return strings.Contains(g.ok(t, "stats", "--no-stream", "--format", "{{.MemUsage}}", "upd"), "/ 3GiB")
	})
	g.ok(t, "update", "--restart", "unless-stopped", "upd")
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "upd")); got != "unless-stopped" {
		t.Errorf("restart policy after update = %q", got)
	}

	g.ok(t, "run", "-d", "--name", "fail2", "--restart", "on-failure:2", bb, "sh", "-c", "exit 1")
	waitFor(t, 60*time.Second, "two restarts", func() bool {
		return strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "fail2")) == "exited 2"
	})
	time.Sleep(2 * time.Second)
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", "fail2")); got != "exited 2 1" {
		t.Errorf("on-failure:2 after its restarts = %q", got)
	}

	g.ok(t, "run", "-d", "--name", "hc", "--health-cmd", "test -f /ok", "--health-interval", "1s", bb,
		"sh", "-c", "sleep 3; touch /ok; sleep 600")
	if st := g.ok(t, "ps", "--filter", "name=hc", "--format", "{{.Status}}"); !strings.Contains(st, "(health: starting)") {
		t.Errorf("ps of a new container with a health check = %q", st)
	}
	waitFor(t, 30*time.Second, "healthy", func() bool {
		return strings.Contains(g.ok(t, "ps", "--filter", "name=hc", "--format", "{{.Status}}"), "(healthy)")
	})
	var health struct {
		Status        string
		FailingStreak int
		Log           []struct{ ExitCode int }
	}
	if err := json.Unmarshal([]byte(g.ok(t, "inspect", "-f", "{{json .State.Health}}", "hc")), &health); err != nil ||
		health.Status != "healthy" || len(health.Log) == 0 || health.Log[len(health.Log)-1].ExitCode != 0 {
		t.Errorf("State.Health = %+v (%v)", health, err)
	}
	// --until in whole seconds (as the CLI turns "0s") would leave out the last second's events.
	until := time.Now().Add(time.Second).Format(time.RFC3339Nano)
	if ev := g.ok(t, "events", "--since", "1m", "--until", until, "--filter", "container=hc", "--format", "{{.Action}}"); !strings.Contains(ev, "health_status: healthy") {
		t.Errorf("no health_status event:\n%s", ev)
	}
	// An image's HEALTHCHECK (here from a commit's --change): unhealthy after its retries, healthy once it passes.
	g.ok(t, "commit", "--change", "HEALTHCHECK --interval=1s --retries=2 CMD test -e /tmp/ok", "hc", "hcimage")
	g.ok(t, "run", "-d", "--name", "hc2", "hcimage", "sleep", "600")
	waitFor(t, 30*time.Second, "unhealthy", func() bool {
		return strings.Contains(g.ok(t, "ps", "--filter", "name=hc2", "--format", "{{.Status}}"), "(unhealthy)")
	})
	g.ok(t, "exec", "hc2", "touch", "/tmp/ok")
	waitFor(t, 30*time.Second, "healthy again", func() bool {
		return strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", "hc2")) == "healthy 0"
	})
	g.ok(t, "run", "-d", "--name", "nohc", "--no-healthcheck", bb, "sleep", "600")
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Health}}", "nohc")); got != "<nil>" {
		t.Errorf("--no-healthcheck: State.Health = %q", got)
	}

	g.ok(t, "run", "-d", "--name", "always", "--restart", "always", bb, "sh", "-c", "sleep 2; exit 1")
	waitFor(t, 30*time.Second, "a restart by policy", func() bool {
		n, _ := strconv.Atoi(strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.RestartCount}}", "always")))
		return n >= 1
	})
	execID := g.detachedExec(t, "upd", "sh", "-c", "sleep 3; touch /late")
	count, _ := strconv.Atoi(strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.RestartCount}}", "always")))

	plugin := pluginPID(t, g.vch)
	if err := syscall.Kill(g.engine.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(plugin, syscall.SIGKILL)
	_ = g.engine.Wait()
	waitFor(t, 5*time.Second, "the plugin to die", func() bool { return !processAlive(plugin) })
	g.startEngine(t)
	waitFor(t, 60*time.Second, "a restart by the new endpoint", func() bool {
		out, code := g.run(t, "inspect", "-f", "{{.RestartCount}}", "always") // the plugin may still be starting
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return code == 0 && n > count
	})
	waitFor(t, 30*time.Second, "the exec session that ran through the restart", func() bool {
		var x struct {
			Running  bool
			ExitCode *int
		}
		return g.api(t, "GET", "/exec/"+execID+"/json", nil, &x) == http.StatusOK && !x.Running && x.ExitCode != nil && *x.ExitCode == 0
	})
	g.ok(t, "exec", "upd", "ls", "/late")

	g.ok(t, "stop", "-t", "1", "always")
	time.Sleep(3 * time.Second)
	if st := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.Status}}", "always")); st != "exited" {
		t.Errorf("a stopped always container is %s", st)
	}
}

// detachedExec starts an exec session the way `docker exec -d` does and returns its ID.
func (g *guestVCH) detachedExec(t *testing.T, container string, cmd ...string) string {
	t.Helper()
	var created struct{ ID string }
	if st := g.api(t, "POST", "/containers/"+container+"/exec", map[string]any{"Cmd": cmd}, &created); st != http.StatusCreated {
		t.Fatalf("exec create: %d", st)
	}
	if st := g.api(t, "POST", "/exec/"+created.ID+"/start", map[string]any{"Detach": true}, nil); st != http.StatusOK {
		t.Fatalf("exec start: %d", st)
	}
	return created.ID
}

// api sends one request to the endpoint's unix socket and decodes the JSON answer into out.
func (g *guestVCH) api(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", g.sock)
		}}}
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://vice"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
