package vsphere

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/vcsim/emulator"
)

// blockStore is a layer store in block-disk mode: the simulator's hypervisor emulator gives disks
// hot-added to a running VM, the endpoint, to this host as block devices, and the backend writes its layers
// through them, as it would in a real endpoint VM.
type blockStore struct {
	*layerStore
	endpoint *object.VirtualMachine
}

func newBlockStore(t *testing.T) *blockStore {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("block disks (loop devices, mounts) need root")
	}
	for _, tool := range []string{"qemu-storage-daemon", "qemu-img"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("block-disk mode needs %s (Debian: qemu-utils, qemu-system-common; .ci/run installs them)", tool)
		}
	}
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	e, err := emulator.Start(ctx, emulator.Config{URL: s.url, RunDir: filepath.Join(t.TempDir(), "emu"),
		Logger: testLogger(t), BlockDisks: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	vm := endpointVM(t, s)
	cfg := s.config()
	cfg.BlockDisks = true
	cfg.EndpointVM = vm.InventoryPath
	cfg.Logger = testLogger(t)
	b := newBackend(t, cfg)
	ds := datastoreDir(t, b)
	return &blockStore{
		layerStore: &layerStore{b: b, s: s, dsDir: ds, images: filepath.Join(ds, filepath.FromSlash(ImagesFolder(DefaultVCHName)))},
		endpoint:   vm,
	}
}

// endpointVM makes and powers on a VM without disks that stands for the machine this test runs on.
func endpointVM(t *testing.T, s *sim) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	c := s.client(t)
	f := find.NewFinder(c)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := f.DefaultResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	task, err := folders.VmFolder.CreateVM(ctx, types.VirtualMachineConfigSpec{Name: "endpoint", GuestId: "otherLinux64Guest",
		Files: &types.VirtualMachineFileInfo{VmPathName: ds.Path("endpoint")}}, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := object.NewVirtualMachine(c, res.Result.(types.ManagedObjectReference))
	vm.InventoryPath = folders.VmFolder.InventoryPath + "/endpoint"
	task, err = vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// attachedDisks are the disks the endpoint VM has.
func (bs *blockStore) attachedDisks(t *testing.T) []string {
	t.Helper()
	devices, err := bs.endpoint.Device(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range devices.SelectByType((*types.VirtualDisk)(nil)) {
		out = append(out, d.(*types.VirtualDisk).Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName)
	}
	return out
}

// mountChain mounts the filesystem of the disk at the local descriptor desc through the same export the
// emulator uses, and returns the mount point.
func mountChain(t *testing.T, desc string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "export")
	out, err := exec.Command("qemu-img", "info", "--backing-chain", desc).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img info: %v\n%s", err, out)
	}
	x, err := emulator.ExportDiskForTest(context.Background(), desc, file, true)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if os.Getenv("XXX_FSCK") != "" {
		out, _ := exec.Command("e2fsck", "-fn", x.Loop()).CombinedOutput()
		t.Logf("fsck:\n%s", out)
	}
	if err := unix.Mount(x.Loop(), dir, "ext4", unix.MS_RDONLY, "noload"); err != nil {
		x.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Unmount(dir, 0)
		if err := x.Close(); err != nil {
			t.Error(err)
		}
	})
	return dir
}

func TestBlockLayerChain(t *testing.T) {
	ctx := context.Background()
	bs := newBlockStore(t)
	base, child := randomID(), randomID()
	baseTar, childTar := buildTar(t, baseEntries()...), buildTar(t, childEntries()...)
	bs.write(t, base, "", "none", baseTar)
	if os.Getenv("XXX_SLEEP") != "" {
		time.Sleep(40 * time.Second)
	}
	bs.write(t, child, base, "gzip", gzipped(t, childTar))
	if d := bs.attachedDisks(t); len(d) != 0 {
		t.Errorf("disks left attached to the endpoint: %v", d)
	}

	// The diffs come back byte for byte, read from the disks.
	for id, tar := range map[string][]byte{base: baseTar, child: childTar} {
		rc, err := bs.b.ReadLayerDiff(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil || !bytes.Equal(back, tar) {
			t.Errorf("layer %s diff: %d bytes back of %d (%v)", id, len(back), len(tar), err)
		}
	}
	if d := bs.attachedDisks(t); len(d) != 0 {
		t.Errorf("disks left attached after reading diffs: %v", d)
	}

	// The layer disks are a real chain of delta disks: each names its parent, none has a directory of
	// contents, and the child's filesystem is the base's with the child's diff applied.
	for _, id := range []string{base, child} {
		if _, err := os.Stat(DiskDataDir(bs.descriptor(id))); !os.IsNotExist(err) {
			t.Errorf("layer %s has a contents directory", id)
		}
	}
	cd := readDesc(t, bs.descriptor(child))
	if cd.ParentFileNameHint == "" || !strings.HasSuffix(cd.ParentFileNameHint, base+".vmdk") {
		t.Errorf("child's parent hint %q", cd.ParentFileNameHint)
	}
	if os.Getenv("XXX_FSCK") != "" {
		mountChain(t, bs.descriptor(ScratchID))
		mountChain(t, bs.descriptor(base))
	}
	root := mountChain(t, bs.descriptor(child))
	for _, gone := range []string{"gone.txt", "opq/old.txt", "lost+found"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is on the child's disk (%v)", gone, err)
		}
	}
	for name, want := range map[string]string{"opq/new.txt": "new", "etc/hostname": "vice\n", "etc/passwd": "root:x:0:0::/root:/bin/sh\n"} {
		if b, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(b) != want {
			t.Errorf("%s on the child's disk: %q %v", name, b, err)
		}
	}
	checkBaseFiles(t, root)

	// A container's disk is a child of the top layer's.
	if err := bs.b.mkdirAll(ctx, "ctr"); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.b.createDisk(ctx, "ctr/c.vmdk", &Descriptor{}, "../"+LayerDescriptor(DefaultVCHName, child)); err != nil {
		t.Fatal(err)
	}
	ctr := readDesc(t, filepath.Join(bs.dsDir, "ctr", "c.vmdk"))
	if !strings.HasSuffix(ctr.ParentFileNameHint, child+".vmdk") {
		t.Errorf("container disk's parent %q", ctr.ParentFileNameHint)
	}
	if d := bs.attachedDisks(t); len(d) != 0 {
		t.Errorf("disks left attached after making a container disk: %v", d)
	}
}

// checkBaseFiles checks, on a disk's filesystem, the base layer's files that a child leaves alone.
func checkBaseFiles(t *testing.T, root string) {
	t.Helper()
	tool := lstat(t, filepath.Join(root, "bin/tool"))
	if tool.Mode != unix.S_IFREG|0o4755 || tool.Uid != 1000 || tool.Gid != 1001 || tool.Nlink != 2 {
		t.Errorf("bin/tool: mode %o owner %d:%d links %d", tool.Mode, tool.Uid, tool.Gid, tool.Nlink)
	}
	if target, err := os.Readlink(filepath.Join(root, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
	if null := lstat(t, filepath.Join(root, "dev/null")); null.Mode != unix.S_IFCHR|0o666 {
		t.Errorf("dev/null mode %o", null.Mode)
	}
}

// testLogger logs to the test when VICE_TEST_LOG is set.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("VICE_TEST_LOG") == "" {
		return quietLogger()
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// A backend that crashed while it wrote a layer left the layer's disk attached to the endpoint VM and its
// temporary folder; the next one detaches the disk before it sweeps the folder, and lists no half layer.
func TestBlockCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	bs := newBlockStore(t)
	base := randomID()
	bs.write(t, base, "", "none", buildTar(t, baseEntries()...))

	// What the crashed write left: its folder, and its disk, a child of base's, attached and half written.
	tmp := path.Join(ImagesFolder(DefaultVCHName), tmpPrefix+randomID()+"-"+randomSuffix())
	if err := bs.b.mkdirAll(ctx, tmp); err != nil {
		t.Fatal(err)
	}
	ds := bs.b.where.datastore
	d, err := bs.b.attachDisk(ctx, diskAttach{file: ds.Path(path.Join(tmp, "half.vmdk")),
		parent: ds.Path(LayerDescriptor(DefaultVCHName, base)), create: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.device, []byte("half a layer"), 0); err != nil {
		t.Fatal(err)
	}
	if got := bs.attachedDisks(t); len(got) != 1 {
		t.Fatalf("attached before the restart: %v", got)
	}

	// The restarted backend.
	cfg := bs.b.cfg
	next := newBackend(t, cfg)
	layers, err := next.ListLayers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 || *layers[0].ID != base {
		t.Errorf("layers after the restart: %d", len(layers))
	}
	if got := bs.attachedDisks(t); len(got) != 0 {
		t.Errorf("still attached after the restart: %v", got)
	}
	if _, err := os.Stat(filepath.Join(bs.dsDir, filepath.FromSlash(tmp))); !os.IsNotExist(err) {
		t.Errorf("the interrupted write's folder is still there: %v", err)
	}
}

// A container's disk read from the endpoint: its filesystem is the image's with the container's writes, and
// its changes against the image come from comparing the two filesystems.
func TestBlockContainerDisk(t *testing.T) {
	ctx := context.Background()
	bs := newBlockStore(t)
	base := randomID()
	bs.write(t, base, "", "none", buildTar(t, baseEntries()...))
	if err := bs.b.mkdirAll(ctx, "ctr"); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.b.createDisk(ctx, "ctr/c.vmdk", &Descriptor{}, "../"+LayerDescriptor(DefaultVCHName, base)); err != nil {
		t.Fatal(err)
	}
	desc := bs.b.where.datastore.Path("ctr/c.vmdk")
	data, err := bs.b.prepareLayers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disks := data.(containerDisks)

	// The container writes: a new file, a changed one, a deleted one.
	w, err := disks.openContainer(ctx, desc, true)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := w.FS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := w.(*blockContainerDisk).disk.fs.fd()
	if err := os.WriteFile(procFDPath(root, "new.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(procFDPath(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nme:x:1:1::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(procFDPath(root, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	_ = fs
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	r, err := disks.openContainer(ctx, desc, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	changes, err := r.Changes(ctx, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Kind+" "+c.Path)
	}
	want := "modified /etc/passwd deleted /gone.txt added /new.txt"
	if strings.Join(got, " ") != want {
		t.Errorf("changes %q, want %q", strings.Join(got, " "), want)
	}
	if n, err := r.Usage(ctx, nil); err != nil || n != int64(len("new")+len("root:x:0:0::/root:/bin/sh\nme:x:1:1::/:/bin/sh\n")) {
		t.Errorf("usage %d %v", n, err)
	}
	var diff bytes.Buffer
	if err := r.WriteDiff(ctx, &diff, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".wh.gone.txt", "new.txt", "etc/passwd"} {
		if !bytes.Contains(diff.Bytes(), []byte(name)) {
			t.Errorf("the diff lacks %s", name)
		}
	}
	if d := bs.attachedDisks(t); len(d) != 2 {
		t.Errorf("attached while reading: %v (the container's disk and its image's)", d)
	}
}
