package simulatortests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

var (
	isoOnce sync.Once
	isoPath string
	isoErr  error
)

// bootstrapISO builds the static tether and bootstrap.iso once per test run, as `make bootstrap-iso` does.
func bootstrapISO(t *testing.T) string {
	t.Helper()
	dir := buildBinaries(t)
	isoOnce.Do(func() {
		tether := filepath.Join(dir, "tether")
		build := exec.Command("go", "build", "-o", tether, "../tether/cmd/tether")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			isoErr = fmt.Errorf("build the tether: %v\n%s", err, out)
			return
		}
		iso := filepath.Join(dir, "bootstrap.iso")
		mk := exec.Command("go", "run", "../installer/cmd/vice-iso", "-tether", tether, "-o", iso, "-version", "e2e")
		if out, err := mk.CombinedOutput(); err != nil {
			isoErr = fmt.Errorf("build bootstrap.iso: %v\n%s", err, out)
			return
		}
		isoPath = iso
	})
	if isoErr != nil {
		t.Fatal(isoErr)
	}
	return isoPath
}

// guestVCH is a VCH whose containerVMs really boot: vice-vcsim with its hypervisor emulator (which needs
// root) and the plugin with bootstrap.iso and a serial-line listener. Its fixture registry holds busybox
// and the configured image; pull names them with the registry's address.
type guestVCH struct {
	*vch
	reg *fixtures.Registry
	env []string
}

func startGuestVCH(t *testing.T) *guestVCH {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containerVMs boot under the hypervisor emulator, which needs root")
	}
	if _, err := os.Stat(fixtures.BusyboxPath); err != nil {
		t.Skipf("the busybox fixture needs %s: %v", fixtures.BusyboxPath, err)
	}
	iso := bootstrapISO(t)
	reg, err := fixtures.StartRegistry("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := reg.Seed(ctx, false); err != nil {
		t.Fatal(err)
	}
	v := startVCH(t, "--bootstrap-iso", iso, "--attach-listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--volume-store", "[datastore1] volumes:default")
	g := &guestVCH{vch: v, reg: reg, env: []string{"DOCKER_CONFIG=" + t.TempDir()}}
	for _, img := range []string{fixtures.Busybox, fixtures.Configured} {
		g.ok(t, "pull", reg.Addr+"/"+img)
	}
	return g
}

// image names a fixture image in the registry ("busybox" -> "127.0.0.1:port/busybox").
func (g *guestVCH) image(name string) string { return g.reg.Addr + "/" + name }

// run runs the docker CLI and returns its combined output and exit code.
func (g *guestVCH) run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := g.docker(t, g.env, args...)
	if err == nil {
		return out, 0
	}
	var exit *exec.ExitError
	if ok := asExit(err, &exit); ok {
		return out, exit.ExitCode()
	}
	t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	return "", -1
}

// ok runs the docker CLI and fails the test unless it exits 0.
func (g *guestVCH) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, code := g.run(t, args...)
	if code != 0 {
		t.Fatalf("docker %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// dockerStdin runs the docker CLI with stdin, returning stdout only.
func (g *guestVCH) dockerStdin(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", g.host}, args...)...)
	cmd.Env = append(os.Environ(), g.env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !asExit(err, &exit) {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	if exit != nil {
		return string(out), exit.ExitCode()
	}
	return string(out), 0
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
