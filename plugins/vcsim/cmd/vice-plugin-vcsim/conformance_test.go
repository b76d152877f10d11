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
	"time"

	"github.com/vice-engine/vice/plugins/sdk/backendtest"
	"github.com/vice-engine/vice/plugins/vcsim"
)

// TestConformance runs the backend conformance suite against this plugin, built and launched the way the
// endpoint launches it: once with its embedded simulator, once against a simulator given with --target.
// In the second, containerVMs really boot: the hypervisor emulator of the simulator this test runs boots
// the tether from bootstrap.iso (built here as `make bootstrap-iso` builds it), so every guest ends with
// the test even when the plugin does not. The embedded simulator's guests would die with the plugin
// process alone, so that run leaves the containers out.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin")
	}
	bin := t.TempDir()
	exe := filepath.Join(bin, "vice-plugin-vcsim")
	goBuild(t, nil, "-o", exe, ".")

	t.Run("embedded", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) http.RoundTripper {
			return backendtest.Launch(t, exe, "--name", "conformance-vch", "--volume-store", "[datastore1] conformance-volumes:default")
		}, backendtest.WithoutGuests("the target run boots the containers"))
	})

	t.Run("target", func(t *testing.T) {
		args := []string{"--name", "target-vch", "--cpu-limit-mhz", "3000", "--volume-store", "[datastore1] target-volumes:default",
			// A container network whose containers reach their peers only.
			"--container-network", "VM Network:conformance-public", "--container-network-gateway", "VM Network:10.245.0.1/24",
			"--container-network-ip-range", "VM Network:10.245.0.64/26", "--container-network-dns", "VM Network:10.245.0.53",
			"--container-network-firewall", "VM Network:peers"}
		var opts []backendtest.Option
		if runtime.GOOS != "linux" || os.Geteuid() != 0 {
			opts = append(opts, backendtest.WithoutGuests("containerVMs boot under the hypervisor emulator, which needs root on Linux"))
		} else {
			args = append(args, "--bootstrap-iso", bootstrapISO(t, bin))
		}
		dir := t.TempDir()
		inf, err := vcsim.Start(context.Background(), vcsim.Options{DatastoreDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		// A cleanup, not a defer: it runs after the plugin launched below is stopped, since the server's Close
		// waits for requests in flight, such as the plugin's long-polling property collector.
		t.Cleanup(inf.Close)
		backendtest.Run(t, func(t *testing.T) http.RoundTripper {
			return backendtest.Launch(t, exe, append([]string{"--target", inf.URL().String()}, args...)...)
		}, opts...)
		// The records the suite wrote are files in the simulator's datastore directory.
		files, err := filepath.Glob(filepath.Join(dir, "target-vch", "kv", "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no KV records under %s: %v", dir, err)
		}
		// The suite removed every container it made: their guests end (the emulator sees the power-offs and
		// the destroys a moment later).
		for deadline := time.Now().Add(20 * time.Second); len(inf.Emulator().Running()) > 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("guests still running after the suite: %v", inf.Emulator().Running())
				break
			}
		}
	})
}

// bootstrapISO builds the static tether and bootstrap.iso from it into dir.
func bootstrapISO(t *testing.T, dir string) string {
	t.Helper()
	tether, iso := filepath.Join(dir, "tether"), filepath.Join(dir, "bootstrap.iso")
	goBuild(t, []string{"CGO_ENABLED=0"}, "-o", tether, "../../../../tether/cmd/tether")
	mk := exec.Command(goTool(), "run", "../../../../installer/cmd/vice-iso", "-tether", tether, "-o", iso, "-version", "conformance")
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap.iso: %v\n%s", err, out)
	}
	return iso
}

func goBuild(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(goTool(), append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, out)
	}
}

func goTool() string { return filepath.Join(runtime.GOROOT(), "bin", "go") }
