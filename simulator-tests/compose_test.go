package simulatortests

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// composePlugin is the docker compose v2 CLI plugin that scripts/compose-plugin.sh builds (.ci/run runs it);
// VICE_COMPOSE_PLUGIN names another.
func composePlugin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("VICE_COMPOSE_PLUGIN")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".docker", "cli-plugins", "docker-compose")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("the docker compose plugin is not installed (%v): scripts/compose-plugin.sh builds it, as .ci/run does", err)
	}
	return p
}

// compose runs `docker compose` (the CLI plugin) in dir and returns its combined output and exit code.
func (g *guestVCH) compose(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", g.host, "compose"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), g.env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("docker compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), 0
}

// TestCompose drives vice with the docker compose v2 CLI plugin: a project of two services on two networks
// with a named volume, one built from a Dockerfile (compose build, then up --build with the classic builder),
// brought up, checked and brought down with its networks and volumes.
func TestCompose(t *testing.T) {
	plugin := composePlugin(t)
	g := startGuestVCH(t)
	cfgDir := strings.TrimPrefix(g.env[0], "DOCKER_CONFIG=")
	if err := os.MkdirAll(filepath.Join(cfgDir, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plugin, filepath.Join(cfgDir, "cli-plugins", "docker-compose")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"compose.yaml": `name: shop
services:
  web:
    build:
      context: ./web
      args:
        GREETING: hi
    networks: [front, back]
    volumes: [data:/data]
    command: ["sh", "-c", "cat /greeting > /data/greeting; exec sleep 600"]
  worker:
    image: ` + g.image("busybox") + `
    networks: [back]
    depends_on: [web]
    environment:
      ROLE: worker
    command: ["sleep", "600"]
networks:
  front: {}
  back: {}
volumes:
  data: {}
`,
		"web/Dockerfile": "FROM " + g.image("busybox") + "\nARG GREETING=hello\nRUN echo \"$GREETING from the build\" > /greeting\n",
	})

	if out, code := g.compose(t, dir, "build"); code != 0 || !strings.Contains(out, "Successfully tagged shop-web:latest") {
		t.Fatalf("docker compose build: exit %d\n%s", code, out)
	}
	out, code := g.compose(t, dir, "up", "--build", "-d")
	if code != 0 {
		t.Fatalf("docker compose up --build -d: exit %d\n%s", code, out)
	}
	t.Logf("docker compose up --build -d:\n%s", out)
	if !strings.Contains(out, "Using cache") || strings.Contains(out, "Running in") {
		t.Errorf("the second build of web did not take every step from the cache:\n%s", out)
	}

	ps, _ := g.compose(t, dir, "ps", "--format", "json")
	running := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(ps), "\n") {
		var c struct{ Service, State string }
		if json.Unmarshal([]byte(line), &c) == nil {
			running[c.Service] = c.State
		}
	}
	if running["web"] != "running" || running["worker"] != "running" {
		t.Errorf("docker compose ps: %v\n%s", running, ps)
	}
	waitFor(t, time.Minute, "web's greeting in the volume", func() bool {
		out, code := g.compose(t, dir, "exec", "-T", "web", "cat", "/data/greeting")
		return code == 0 && out == "hi from the build\n"
	})
	nets := g.ok(t, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "shop-web-1")
	if !strings.Contains(nets, "shop_front") || !strings.Contains(nets, "shop_back") {
		t.Errorf("web's networks: %q", nets)
	}
	if env := g.ok(t, "inspect", "-f", "{{json .Config.Env}}", "shop-worker-1"); !strings.Contains(env, "ROLE=worker") {
		t.Errorf("worker's environment: %s", env)
	}
	if vols := g.ok(t, "volume", "ls", "-q"); !strings.Contains(vols, "shop_data") {
		t.Errorf("docker volume ls: %q", vols)
	}

	if out, code := g.compose(t, dir, "down", "-v"); code != 0 {
		t.Fatalf("docker compose down -v: exit %d\n%s", code, out)
	}
	if left := strings.TrimSpace(g.ok(t, "ps", "-aq")); left != "" {
		t.Errorf("containers left after down: %q", left)
	}
	if nets := g.ok(t, "network", "ls", "--format", "{{.Name}}"); strings.Contains(nets, "shop_") {
		t.Errorf("networks left after down:\n%s", nets)
	}
	if vols := g.ok(t, "volume", "ls", "-q"); strings.Contains(vols, "shop_") {
		t.Errorf("volumes left after down -v:\n%s", vols)
	}
}
