package simulatortests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// TestBlockDisks runs a VCH in the emulator's block-disk mode, whatever VICE_BLOCK_DISKS says: the endpoint
// writes every layer by attaching its disk (a delta disk of its parent's) to its VM, finding the block device,
// mounting it and unpacking the diff with its whiteouts applied, and containerVMs boot from their disk's
// filesystem, the whole chain resolved by QEMU's vmdk driver.
func TestBlockDisks(t *testing.T) {
	t.Setenv(vchwire.BlockDisksEnv, "1")
	t.Run("StackedImage", testStackedImage)
	t.Run("KilledMidLayerWrite", testKilledMidLayerWrite)
	t.Run("Volumes", testBlockVolumes)
}

// testBlockVolumes: a volume's disk gets an ext4 filesystem (made through the endpoint VM), which a container
// mounts and writes and another reads; docker cp into and out of a stopped container's volume path goes to
// the volume's disk, which the endpoint attaches to itself for it and detaches after.
func testBlockVolumes(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	g.ok(t, "volume", "create", "vol")
	out := g.ok(t, "run", "--rm", "-v", "vol:/data", bb, "sh", "-c",
		"echo first > /data/f && awk '$2 == \"/data\" {print $3}' /proc/mounts")
	if out != "ext4\n" {
		t.Errorf("the volume at /data is mounted as %q, want ext4", out)
	}
	g.ok(t, "create", "--name", "stopped", "-v", "vol:/data", bb, "true")
	src := filepath.Join(t.TempDir(), "copied")
	if err := os.WriteFile(src, []byte("through the endpoint\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.ok(t, "cp", src, "stopped:/data/copied")
	if tarball := g.ok(t, "cp", "stopped:/data/f", "-"); !strings.Contains(tarball, "first\n") {
		t.Errorf("docker cp out of the stopped container's volume: %q", tarball)
	}
	// The disks go once the stream has ended, after the CLI has the whole of it.
	waitFor(t, 30*time.Second, "no disk attached to the endpoint VM after docker cp", func() bool {
		return len(endpointDisks(t, g.vcsimURL)) == 0
	})
	out = g.ok(t, "run", "--rm", "-v", "vol:/v", bb, "cat", "/v/f", "/v/copied")
	if out != "first\nthrough the endpoint\n" {
		t.Errorf("the volume read by another container: %q", out)
	}
}

// testStackedImage pulls the five-layer image and runs it: every layer's files are there, none of those a
// later layer hid, and the disks are a chain of six (scratch and five layers) that QEMU reads as one.
func testStackedImage(t *testing.T) {
	g := startGuestVCH(t)
	img, err := fixtures.StackedImage()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := g.reg.Push(ctx, fixtures.Stacked, img); err != nil {
		t.Fatal(err)
	}
	stacked := g.image(fixtures.Stacked)
	g.ok(t, "pull", stacked)

	var script strings.Builder
	var kept []string
	for p := range fixtures.StackedKept {
		kept = append(kept, p)
	}
	sort.Strings(kept)
	for _, p := range kept {
		script.WriteString("printf '%s=' " + p + "; cat " + p + "; ")
	}
	for _, p := range fixtures.StackedGone {
		script.WriteString("test -e " + p + " && echo 'STILL THERE: " + p + "'; ")
	}
	script.WriteString("ls -i /data/a /data/link | awk '{print $1}' | uniq | wc -l; echo done")
	out := g.ok(t, "run", "--rm", stacked, "sh", "-c", script.String())
	t.Logf("docker run %s:\n%s", stacked, out)
	for _, p := range kept {
		if !strings.Contains(out, p+"="+fixtures.StackedKept[p]) {
			t.Errorf("%s does not hold %q", p, fixtures.StackedKept[p])
		}
	}
	if strings.Contains(out, "STILL THERE") || !strings.HasSuffix(strings.TrimSpace(out), "2\ndone") {
		t.Errorf("the container's filesystem is not the image's")
	}

	// The layers' disks, on the datastore, are a chain that QEMU's vmdk driver follows to the scratch disk.
	id := strings.TrimSpace(g.ok(t, "create", stacked, "true"))
	matches, _ := filepath.Glob(filepath.Join(g.dir, "datastore", "*", id+".vmdk"))
	if len(matches) != 1 {
		t.Fatalf("container disk of %s: %v", id, matches)
	}
	// -U: the emulator may still hold the disk, which the endpoint attached to itself to make it.
	info, err := exec.Command("qemu-img", "info", "-U", "--backing-chain", matches[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img info: %v\n%s", err, info)
	}
	if n := strings.Count(string(info), "image: "); n != 7 {
		t.Errorf("the container's disk chain has %d disks, want 7 (container, 5 layers, scratch):\n%s", n, info)
	}
	if d := endpointDisks(t, g.vcsimURL); len(d) != 0 {
		t.Errorf("disks left attached to the endpoint VM: %v", d)
	}
}

// testKilledMidLayerWrite kills the endpoint (vice-engine and its plugin, SIGKILL) while a layer's disk is
// attached to the endpoint VM and being written: the disk stays attached; the restarted endpoint detaches
// it, lists no half layer, and the same pull completes.
func testKilledMidLayerWrite(t *testing.T) {
	img, err := fixtures.StackedImage()
	if err != nil {
		t.Fatal(err)
	}
	reg := newStallingRegistry(t, img, "killed:latest")
	v := startVCH(t)
	env := []string{"DOCKER_CONFIG=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pull := exec.CommandContext(ctx, "docker", "-H", v.host, "pull", reg.addr+"/killed")
	pull.Env = append(os.Environ(), env...)
	if err := pull.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reg.stalled:
	case <-ctx.Done():
		t.Fatal("no layer blob was requested")
	}
	// Half a blob has reached a layer disk (not the scratch disk, made first): it is attached to the endpoint VM.
	var attached []string
	waitFor(t, 30*time.Second, "a layer disk attached to the endpoint VM", func() bool {
		attached = endpointDisks(t, v.vcsimURL)
		for _, d := range attached {
			if strings.Contains(d, "/images/.tmp-") && !strings.Contains(d, "scratch") {
				return true
			}
		}
		return false
	})
	plugin := pluginPID(t, v)
	if err := syscall.Kill(v.engine.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(plugin, syscall.SIGKILL)
	_ = v.engine.Wait()
	_ = pull.Wait()
	for deadline := time.Now().Add(10 * time.Second); processAlive(plugin) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	attached = endpointDisks(t, v.vcsimURL)
	t.Logf("after kill -9 of the endpoint mid-write, its VM has %d disk(s) attached: %v", len(attached), attached)
	if len(attached) == 0 {
		t.Fatal("no disk was attached when the endpoint died: the kill did not hit a layer write")
	}

	reg.stall.Store(false)
	v.startEngine(t)
	repullAfterKill(t, v, env, reg.addr+"/killed")
	attached = endpointDisks(t, v.vcsimURL)
	t.Logf("after the restart and the repeated pull, the endpoint VM has %d disk(s) attached", len(attached))
	if len(attached) != 0 {
		t.Errorf("disks still attached to the endpoint VM: %v", attached)
	}
	noInterruptedWrites(t, v)
}
