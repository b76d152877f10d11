package simulatortests

import (
	"context"
	"strings"
	"testing"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// TestRegistryFlags is vice-engine's registry configuration through the docker CLI: a Docker Hub name pulled
// through --registry-mirror, the mirror shown by docker info, and --whitelist-registry refusing a registry
// it does not list with VIC's message.
func TestRegistryFlags(t *testing.T) {
	g := startGuestVCH(t)
	img, err := fixtures.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	// A mirror of Docker Hub holds its repositories under their full path.
	if err := g.reg.Push(context.Background(), "library/busybox:latest", img); err != nil {
		t.Fatal(err)
	}
	base := append([]string(nil), g.engArgs...)
	g.engArgs = append(base, "--registry-mirror", "http://"+g.reg.Addr)
	g.restartEngine(t)
	if out := g.ok(t, "pull", "busybox"); !strings.Contains(out, "Status: Downloaded newer image for busybox:latest") {
		t.Errorf("pull busybox through the mirror:\n%s", out)
	}
	if out := strings.TrimSpace(g.ok(t, "run", "--rm", "busybox", "echo", "mirrored")); out != "mirrored" {
		t.Errorf("run busybox = %q", out)
	}
	if info := g.ok(t, "info"); !strings.Contains(info, "Registry Mirrors:\n  http://"+g.reg.Addr+"/") {
		t.Errorf("docker info does not show the mirror:\n%s", info)
	}

	g.engArgs = append(base, "--whitelist-registry", "10.0.0.0/8", "--whitelist-registry", "*.example.com")
	g.restartEngine(t)
	out, code := g.run(t, "pull", g.image("busybox"))
	if code == 0 || !strings.Contains(out, "Access denied to unauthorized registry ("+g.reg.Addr+") while VCH is in whitelist mode") {
		t.Errorf("pull from a registry off the whitelist = %d\n%s", code, out)
	}
	if info := g.ok(t, "info"); !strings.Contains(info, "Registry Whitelist Mode: enabled") ||
		!strings.Contains(info, "Whitelisted Registries: 10.0.0.0/8, *.example.com") {
		t.Errorf("docker info does not show the whitelist:\n%s", info)
	}
}
