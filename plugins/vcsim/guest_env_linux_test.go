package vcsim

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	testVCH   = "vch1"
	layerTop  = "2222222222222222222222222222222222222222222222222222222222222222"
	layerBase = "1111111111111111111111111111111111111111111111111111111111111111"
)

// guestEnv is a simulator with the emulator on, a bootstrap ISO holding the real tether, and an image of
// two layers over scratch holding testdata/app as /bin/app.
type guestEnv struct {
	inf    *Infrastructure
	c      *govmomi.Client
	dir    string // datastore1
	runDir string
	pool   *object.ResourcePool
	folder *object.Folder
}

func newGuestEnv(t *testing.T) *guestEnv {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("booting guests needs root on Linux")
	}
	bin := t.TempDir()
	build(t, "../../tether/cmd/tether", filepath.Join(bin, "tether"))
	build(t, "./testdata/app", filepath.Join(bin, "app"))

	env := &guestEnv{dir: t.TempDir()}
	env.runDir = filepath.Join(t.TempDir(), "run")
	makeISO(t, filepath.Join(bin, "tether"), filepath.Join(env.dir, testVCH, "bootstrap.iso"))
	makeImage(t, env.dir, filepath.Join(bin, "app"))

	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	inf, err := Start(context.Background(), Options{DatastoreDir: env.dir, Logger: logger, RunDir: env.runDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inf.Close)
	env.inf = inf

	ctx := context.Background()
	u := inf.URL()
	env.c, err = govmomi.NewClient(ctx, u, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.c.Logout(context.Background()) })
	f := find.NewFinder(env.c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	if env.pool, err = f.DefaultResourcePool(ctx); err != nil {
		t.Fatal(err)
	}
	if env.folder, err = f.DefaultFolder(ctx); err != nil {
		t.Fatal(err)
	}
	return env
}

// build compiles a static binary, as the installer builds the tether.
func build(t *testing.T, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
}

// makeISO writes a Rock Ridge ISO9660 image holding /tether and /VERSION, like the installer's bootstrap.iso.
func makeISO(t *testing.T, tether, iso string) {
	t.Helper()
	data, err := os.ReadFile(tether)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(iso), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := diskfs.Create(iso, int64(len(data))+8<<20, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	d.LogicalBlocksize = 2048
	fsys, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 0, FSType: filesystem.TypeISO9660, VolumeLabel: "BOOTSTRAP"})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"/tether": data, "/VERSION": []byte("test\n")} {
		f, err := fsys.OpenFile(name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(content); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := fsys.(*iso9660.FileSystem).Finalize(iso9660.FinalizeOptions{RockRidge: true}); err != nil {
		t.Fatal(err)
	}
	d.Close()
}

// makeImage lays out scratch ← base ← top the way the vsphere backend's image store does, with the two
// kinds of parent hint it may write: relative and datastore path.
func makeImage(t *testing.T, dsDir, app string) {
	t.Helper()
	images := filepath.Join(dsDir, "VIC", testVCH, "images")
	writeDisk(t, filepath.Join(images, "scratch", "scratch.vmdk"), "", nil)
	appBin, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	writeDisk(t, filepath.Join(images, layerBase, layerBase+".vmdk"), "../scratch/scratch.vmdk", map[string]string{
		"bin/app": string(appBin), "etc/layer": "base", "etc/base": "one",
	})
	writeDisk(t, filepath.Join(images, layerTop, layerTop+".vmdk"),
		fmt.Sprintf("[%s] VIC/%s/images/%s/%s.vmdk", DatastoreName, testVCH, layerBase, layerBase),
		map[string]string{"etc/layer": "top"})
}

// writeDisk writes a descriptor and, beside it, the disk's contents (rootfs/).
func writeDisk(t *testing.T, desc, parent string, files map[string]string) {
	t.Helper()
	root := filepath.Join(filepath.Dir(desc), "rootfs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	parentCID := "ffffffff"
	hint := ""
	if parent != "" {
		parentCID = "0000000a"
		hint = fmt.Sprintf("parentFileNameHint=%q\n", parent)
	}
	text := "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=0000000b\nparentCID=" + parentCID +
		"\ncreateType=\"vmfsSparse\"\n" + hint + "\n# Extent description\nRW 2048 VMFSSPARSE \"" +
		strings.TrimSuffix(filepath.Base(desc), ".vmdk") + "-delta.vmdk\"\n"
	if err := os.WriteFile(desc, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// powerState reads vm's power state through the API.
func powerState(t *testing.T, vm *object.VirtualMachine) types.VirtualMachinePowerState {
	t.Helper()
	s, err := vm.PowerState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
