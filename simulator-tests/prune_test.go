package simulatortests

import (
	"strings"
	"testing"
)

// TestPruneAndDiskUsage is `docker container prune`, `docker image prune`, `docker system df` and
// `docker system prune -af --volumes` through the docker CLI.
func TestPruneAndDiskUsage(t *testing.T) {
	g := startGuestVCH(t)
	bb, cfgd := g.image("busybox"), g.image("configured")
	running := strings.TrimSpace(g.ok(t, "run", "-d", "--name", "running", bb, "sleep", "300"))
	// The exited container wrote 100000 bytes, a hard link to them and a deletion from the image: its own
	// writes are the 100000 bytes, as Docker counts an overlay2 upper layer.
	exited := strings.TrimSpace(g.ok(t, "create", "--name", "exited", bb, "sh", "-c", "head -c 100000 /dev/zero > /f && ln /f /g && rm /bin/ls"))
	g.ok(t, "start", "-a", "exited")
	kept := strings.TrimSpace(g.ok(t, "create", "--name", "kept", "--label", "keep=yes", bb, "true"))

	sizes := g.ok(t, "ps", "-as", "--format", "{{.Names}} {{.Size}}")
	for _, want := range []string{"exited 100kB (virtual ", "kept 0B (virtual "} {
		if !strings.Contains(sizes, want) {
			t.Errorf("ps -as lacks %q:\n%s", want, sizes)
		}
	}
	if got := g.ok(t, "inspect", "--size", "--format", "{{.SizeRw}}", "exited"); got != "100000\n" {
		t.Errorf("inspect --size: SizeRw %q, want 100000", got)
	}

	df := g.ok(t, "system", "df")
	t.Logf("docker system df:\n%s", df)
	for _, want := range []string{"Images          2         1", "Containers      3         1         100kB     100kB (100%)",
		"Local Volumes   0         0", "Build Cache     0         0"} {
		if !strings.Contains(df, want) {
			t.Errorf("system df lacks %q:\n%s", want, df)
		}
	}
	if v := g.ok(t, "system", "df", "-v"); !strings.Contains(v, "running") || !strings.Contains(v, bb) {
		t.Errorf("system df -v:\n%s", v)
	}

	out := g.ok(t, "container", "prune", "-f", "--filter", "label!=keep")
	if !strings.Contains(out, "Deleted Containers:\n"+exited) || strings.Contains(out, kept) || strings.Contains(out, running) ||
		!strings.Contains(out, "Total reclaimed space: 100kB") {
		t.Errorf("container prune --filter label!=keep:\n%s", out)
	}
	if out := g.ok(t, "container", "prune", "-f", "--filter", "until=1h"); strings.Contains(out, kept) {
		t.Errorf("container prune --filter until=1h removed a new container:\n%s", out)
	}
	if ps := g.ok(t, "ps", "-a", "--format", "{{.Names}}"); ps != "kept\nrunning\n" && ps != "running\nkept\n" {
		t.Errorf("ps -a after the prunes = %q", ps)
	}

	// Nothing dangling: a plain image prune deletes nothing; -a deletes the image no container uses.
	if out := g.ok(t, "image", "prune", "-f"); !strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("image prune:\n%s", out)
	}
	out = g.ok(t, "image", "prune", "-af")
	if !strings.Contains(out, "untagged: "+cfgd+":latest") || !strings.Contains(out, "deleted: sha256:") || strings.Contains(out, bb) {
		t.Errorf("image prune -a:\n%s", out)
	}
	if imgs := g.ok(t, "images", "--format", "{{.Repository}}"); strings.TrimSpace(imgs) != bb {
		t.Errorf("images after prune -a = %q", imgs)
	}

	g.ok(t, "stop", "-t", "1", "running")
	out = g.ok(t, "system", "prune", "-af", "--volumes")
	for _, want := range []string{"Deleted Containers:", running, kept, "untagged: " + bb + ":latest", "Total reclaimed space:"} {
		if !strings.Contains(out, want) {
			t.Errorf("system prune -af lacks %q:\n%s", want, out)
		}
	}
	if ps, imgs := g.ok(t, "ps", "-aq"), g.ok(t, "images", "-q"); ps != "" || imgs != "" {
		t.Errorf("after system prune -af: ps %q images %q", ps, imgs)
	}
}
