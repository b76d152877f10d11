package containers

import (
	"reflect"
	"strings"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

func TestMergeImage(t *testing.T) {
	img := &dockerspec.DockerOCIImageConfig{}
	img.Entrypoint = []string{"/entry"}
	img.Cmd = []string{"default"}
	img.Env = []string{"PATH=/bin", "FOO=image", "KEEP=1"}
	img.WorkingDir = "/srv"
	img.User = "app"
	img.Labels = map[string]string{"a": "image", "b": "image"}
	img.StopSignal = "SIGQUIT"
	img.Volumes = map[string]struct{}{"/data": {}}
	for _, c := range []struct {
		name       string
		in         container.Config
		entry, cmd []string
		env        []string
		user, wd   string
	}{
		{"image defaults", container.Config{}, []string{"/entry"}, []string{"default"},
			[]string{"PATH=/bin", "FOO=image", "KEEP=1"}, "app", "/srv"},
		{"cmd replaces cmd", container.Config{Cmd: []string{"x"}}, []string{"/entry"}, []string{"x"},
			[]string{"PATH=/bin", "FOO=image", "KEEP=1"}, "app", "/srv"},
		{"entrypoint resets cmd", container.Config{Entrypoint: []string{"/other"}}, []string{"/other"}, nil,
			[]string{"PATH=/bin", "FOO=image", "KEEP=1"}, "app", "/srv"},
		{"env per key", container.Config{Env: []string{"FOO=bar", "NEW=1"}, User: "nobody", WorkingDir: "/tmp"},
			[]string{"/entry"}, []string{"default"}, []string{"FOO=bar", "NEW=1", "PATH=/bin", "KEEP=1"}, "nobody", "/tmp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.in
			cfg.Labels = map[string]string{"b": "client"}
			mergeImage(&cfg, img)
			if !reflect.DeepEqual(cfg.Entrypoint, c.entry) || !reflect.DeepEqual(cfg.Cmd, c.cmd) ||
				!reflect.DeepEqual(cfg.Env, c.env) || cfg.User != c.user || cfg.WorkingDir != c.wd {
				t.Errorf("merged = entry %q cmd %q env %q user %q wd %q", cfg.Entrypoint, cfg.Cmd, cfg.Env, cfg.User, cfg.WorkingDir)
			}
			if cfg.Labels["a"] != "image" || cfg.Labels["b"] != "client" || cfg.StopSignal != "SIGQUIT" {
				t.Errorf("labels %v stop signal %q", cfg.Labels, cfg.StopSignal)
			}
			if _, ok := cfg.Volumes["/data"]; !ok {
				t.Errorf("volumes %v", cfg.Volumes)
			}
		})
	}
	if _, _, err := command(&container.Config{}); !errdefs.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "no command specified") {
		t.Errorf("empty command: %v", err)
	}
}

func TestVMSize(t *testing.T) {
	for _, c := range []struct {
		host      container.HostConfig
		cpus, mem int64
	}{
		{container.HostConfig{}, 2, 2048},
		{container.HostConfig{Resources: container.Resources{Memory: 100 << 20}}, 2, 512},
		{container.HostConfig{Resources: container.Resources{Memory: 3<<30 + 1}}, 2, 3073},
		{container.HostConfig{Resources: container.Resources{NanoCPUs: 1_500_000_000}}, 2, 2048},
		{container.HostConfig{Resources: container.Resources{NanoCPUs: 500_000_000}}, 1, 2048},
		{container.HostConfig{Resources: container.Resources{CPUCount: 4}}, 4, 2048},
		{container.HostConfig{Resources: container.Resources{CPUCount: 1000}}, 32, 2048},
	} {
		if cpus, mem := vmSize(&c.host); cpus != c.cpus || mem != c.mem {
			t.Errorf("vmSize(%+v) = %d, %d; want %d, %d", c.host.Resources, cpus, mem, c.cpus, c.mem)
		}
	}
}

func TestNames(t *testing.T) {
	for name, ok := range map[string]bool{"web": true, "/web": true, "a.b-c_d": true, "w": false, "-web": false,
		"we b": false, "web/x": false} {
		if _, err := checkName(name); (err == nil) != ok {
			t.Errorf("checkName(%q) = %v", name, err)
		}
	}
	taken := map[string]bool{}
	for range 200 {
		n := generateName(func(s string) bool { return taken[s] })
		if taken[n] || !validName.MatchString(n) {
			t.Fatalf("generated %q twice or invalid", n)
		}
		taken[n] = true
	}
	id := newID()
	if !fullID.MatchString(id) || id == newID() {
		t.Errorf("newID = %q", id)
	}
	err := nameConflict("web2", id)
	want := `Conflict. The container name "/web2" is already in use by container "` + id +
		`". You have to remove (or rename) that container to be able to reuse that name.`
	if !errdefs.Is(err, errdefs.ErrConflict) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("conflict = %v", err)
	}
}

func TestStatusAndSignals(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rec := func(status string, running bool, code int64, started, finished time.Duration) *record {
		return &record{info: &models.ContainerInfo{State: &models.ContainerState{Status: &status, Running: running,
			ExitCode: code, StartedAt: now.Add(-started).Format(time.RFC3339Nano),
			FinishedAt: now.Add(-finished).Format(time.RFC3339Nano)}}}
	}
	for _, c := range []struct {
		r    *record
		want string
	}{
		{rec("created", false, 0, 0, 0), "Created"},
		{rec("running", true, 0, 3*time.Second, 0), "Up 3 seconds"},
		{rec("exited", false, 143, time.Hour, 2*time.Minute), "Exited (143) 2 minutes ago"},
	} {
		if got := statusText(c.r, now); got != c.want {
			t.Errorf("status = %q, want %q", got, c.want)
		}
	}
	for in, want := range map[string]string{"": "", "usr1": "SIGUSR1", "SIGTERM": "SIGTERM", "9": "9", "kill": "SIGKILL"} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := parseSignal("bad signal!"); !errdefs.Is(err, errdefs.ErrInvalid) {
		t.Errorf("bad signal: %v", err)
	}
	st := &models.ContainerState{ExitCode: 127, Error: `exec: "/nonexistent": stat /nonexistent: no such file or directory`}
	if err := startError(st); !errdefs.Is(err, errdefs.ErrInvalid) || !strings.HasPrefix(err.Error(), "failed to create task for container: ") ||
		!strings.Contains(err.Error(), `exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown`) {
		t.Errorf("start error = %v", err)
	}
	// dockerd resolves the user itself and answers its own message, a 500, so the CLI exits 125.
	st = &models.ContainerState{ExitCode: 128, Error: "unable to find user nobody2: no matching entries in passwd file"}
	if err := startError(st); !errdefs.Is(err, errdefs.ErrSystem) ||
		err.Error() != "unable to find user nobody2: no matching entries in passwd file: "+errdefs.ErrSystem.Error() {
		t.Errorf("start error of an unknown user = %v", err)
	}
	if err := startError(&models.ContainerState{ExitCode: 128}); err != nil {
		t.Errorf("a process that exits 128 by itself is no start error: %v", err)
	}
}
