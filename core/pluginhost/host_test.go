package pluginhost_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// The test binary doubles as a backend plugin when this variable is set.
const pluginEnv = "VICE_PLUGINHOST_TEST_PLUGIN"

type testBackend struct{}

func (testBackend) Name() string                   { return "test" }
func (testBackend) Ping(ctx context.Context) error { return nil }
func (testBackend) Info(ctx context.Context) (*models.VCHInfo, error) {
	name, backend := "vch-test", "test"
	return &models.VCHInfo{Name: &name, Backend: &backend, Vsphere: &models.VSphereInfo{}, Pool: &models.PoolInfo{}}, nil
}

func TestMain(m *testing.M) {
	if os.Getenv(pluginEnv) == "1" {
		sdk.Serve(testBackend{})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func register(t *testing.T, dir, name string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	file, err := pluginhost.WriteManifest(dir, pluginhost.Manifest{Name: name, Path: exe, Env: []string{pluginEnv + "=1"}})
	if err != nil {
		t.Fatal(err)
	}
	return file
}

func ping(ctx context.Context, rt http.RoundTripper) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://portlayer/v1/ping", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "OK" {
		return errors.New("ping answered " + resp.Status + " " + string(body))
	}
	return nil
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// waitGone waits for a process to disappear (it may linger briefly as a zombie of go-plugin's reaper).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil || strings.Contains(string(data), ") Z ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("plugin process %d still runs", pid)
}

func TestRestartAfterKillAndCleanStop(t *testing.T) {
	dir := t.TempDir()
	// Each process's socket lies in a directory of its own under TMPDIR, removed once the process is gone,
	// killed or stopped.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	sockets := func() []string {
		t.Helper()
		found, err := filepath.Glob(filepath.Join(tmp, "vice-plugin-*", "plugin*"))
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	register(t, dir, "alpha")
	var logs strings.Builder
	host, err := pluginhost.New(pluginhost.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := host.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer host.Stop()
	rt, err := host.Transport("alpha")
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, rt); err != nil {
		t.Fatal(err)
	}
	first := host.Status()[0]
	if !first.Running || first.PID == 0 || first.Restarts != 0 {
		t.Fatalf("status %+v", first)
	}
	if s := sockets(); len(s) != 1 {
		t.Fatalf("sockets of the running plugin: %v, want one", s)
	}

	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The next request may race the restart; the transport waits for the new process.
	if err := ping(ctx, rt); err != nil {
		t.Fatalf("ping after kill: %v", err)
	}
	t.Logf("serving again %v after the kill", time.Since(killed))
	if d := time.Since(killed); d > 5*time.Second {
		t.Fatalf("serving again took %v", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for host.Status()[0].Restarts != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	second := host.Status()[0]
	if second.Restarts != 1 || second.PID == first.PID || !second.Running {
		t.Fatalf("after kill: %+v", second)
	}
	if !strings.Contains(logs.String(), "plugin restarted") {
		t.Fatalf("log does not say the plugin was restarted:\n%s", logs.String())
	}
	if s := sockets(); len(s) != 1 {
		t.Fatalf("sockets after the killed plugin's restart: %v, want the new one only", s)
	}

	stopped := time.Now()
	host.Stop()
	t.Logf("Stop took %v", time.Since(stopped))
	waitGone(t, second.PID)
	if err := ping(ctx, rt); err == nil {
		t.Fatal("ping succeeded after Stop")
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Fatalf("left in TMPDIR after Stop: %v", left)
	}
}

func TestChecksumMismatchRefused(t *testing.T) {
	dir := t.TempDir()
	file := register(t, dir, "beta")
	data, _ := os.ReadFile(file)
	sum, _ := pluginhost.FileSHA256(file) // a valid digest of something else
	data = []byte(strings.Replace(string(data), extractSum(string(data)), sum, 1))
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	host, err := pluginhost.New(pluginhost.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = host.Start(context.Background())
	if !errors.Is(err, errdefs.ErrForbidden) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("want a checksum error, got %v", err)
	}
}

func extractSum(manifest string) string {
	i := strings.Index(manifest, `"sha256": "`) + len(`"sha256": "`)
	return manifest[i : i+64]
}

func TestBadManifests(t *testing.T) {
	cases := map[string]string{
		"not json":      `{`,
		"unknown field": `{"name":"x","path":"/bin/true","sha256":"` + strings.Repeat("a", 64) + `","apiVersion":1,"bogus":1}`,
		"bad name":      `{"name":"X Y","path":"/bin/true","sha256":"` + strings.Repeat("a", 64) + `","apiVersion":1}`,
		"bad sha":       `{"name":"x","path":"/bin/true","sha256":"abc","apiVersion":1}`,
		"other version": `{"name":"x","path":"/bin/true","sha256":"` + strings.Repeat("a", 64) + `","apiVersion":9}`,
		"no path":       `{"name":"x","sha256":"` + strings.Repeat("a", 64) + `","apiVersion":1}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x.json"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := pluginhost.New(pluginhost.Options{Dir: dir}); !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("want an invalid-argument error, got %v", err)
			}
		})
	}
	if _, err := pluginhost.New(pluginhost.Options{Dir: t.TempDir()}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("empty registry: %v", err)
	}
}
