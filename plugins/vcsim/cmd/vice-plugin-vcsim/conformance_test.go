package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk/backendtest"
	"github.com/vice-engine/vice/plugins/vcsim"
)

// TestConformance runs the backend conformance suite against this plugin, built and launched the way the
// endpoint launches it: once with its embedded simulator, once against a simulator given with --target.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin")
	}
	exe := filepath.Join(t.TempDir(), "vice-plugin-vcsim")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", exe, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build the plugin: %v", err)
	}

	t.Run("embedded", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) http.RoundTripper {
			return backendtest.Launch(t, exe, "--name", "conformance-vch")
		})
	})

	t.Run("target", func(t *testing.T) {
		dir := t.TempDir()
		inf, err := vcsim.Start(context.Background(), vcsim.Options{DatastoreDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		// A cleanup, not a defer: it runs after the plugin launched below is stopped, since the server's Close
		// waits for requests in flight, such as the plugin's long-polling property collector.
		t.Cleanup(inf.Close)
		backendtest.Run(t, func(t *testing.T) http.RoundTripper {
			return backendtest.Launch(t, exe, "--target", inf.URL().String(), "--name", "target-vch",
				"--cpu-limit-mhz", "3000")
		})
		// The records the suite wrote are files in the simulator's datastore directory.
		files, err := filepath.Glob(filepath.Join(dir, "target-vch", "kv", "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no KV records under %s: %v", dir, err)
		}
	})
}
