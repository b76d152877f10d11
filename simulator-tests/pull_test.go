package simulatortests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// TestPullKilledMidway kills vice-engine with SIGKILL while a pull streams its layers into the layer store:
// the new endpoint lists no image and no layer of it, nothing half-written is left in the image store, and
// the same pull then completes.
func TestPullKilledMidway(t *testing.T) {
	img, err := fixtures.LayeredImage()
	if err != nil {
		t.Fatal(err)
	}
	reg := newStallingRegistry(t, img, "killed:latest")
	addr := reg.addr
	v := startVCH(t)
	env := []string{"DOCKER_CONFIG=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pull := exec.CommandContext(ctx, "docker", "-H", v.host, "pull", addr+"/killed")
	pull.Env = append(os.Environ(), env...)
	if err := pull.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reg.stalled:
	case <-ctx.Done():
		t.Fatal("no layer blob was requested")
	}
	time.Sleep(200 * time.Millisecond) // the half blob is in the layer store's temporary folder by now
	plugin := pluginPID(t, v)
	if err := syscall.Kill(v.engine.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = v.engine.Wait()
	_ = pull.Wait()
	// The plugin goes with its host (go-plugin); its writes broke off with their streams.
	for deadline := time.Now().Add(10 * time.Second); processAlive(plugin) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(plugin, syscall.SIGKILL)
	reg.stall.Store(false)
	v.startEngine(t)

	repullAfterKill(t, v, env, addr+"/killed")
	// The new endpoint's image store swept the interrupted writes when it was first used.
	noInterruptedWrites(t, v)
}

// repullAfterKill checks an endpoint started again after one was killed in the middle of pulling ref: the
// interrupted pull left no image, the same pull completes, and the image is listed.
func repullAfterKill(t *testing.T, v *vch, env []string, ref string) {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		out, err := v.docker(t, env, args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := run("images", "--format", "{{.Repository}}"); strings.Contains(out, "killed") {
		t.Fatalf("the interrupted pull left an image:\n%s", out)
	}
	out := run("pull", ref)
	if !strings.Contains(out, "Pull complete") || !strings.Contains(out, "Downloaded newer image") {
		t.Fatalf("pull after the restart:\n%s", out)
	}
	if out := run("images", "--format", "{{.Repository}}"); !strings.Contains(out, "killed") {
		t.Fatalf("the image is not listed:\n%s", out)
	}
}

// noInterruptedWrites checks that the image store holds no temporary folder of an interrupted write (the
// endpoint sweeps them when its store is first used).
func noInterruptedWrites(t *testing.T, v *vch) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(v.dir, "datastore", "VIC", "vch-e2e", "images"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("the image store still holds %s, left by the interrupted pull", e.Name())
		}
	}
}
