package vsphere

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// changesOf renders changes as `docker diff` prints them.
func changesOf(cs []*models.FileChange) []string {
	kinds := map[string]string{changeModified: "C", changeAdded: "A", changeDeleted: "D"}
	var out []string
	for _, c := range cs {
		out = append(out, kinds[c.Kind]+" "+c.Path)
	}
	return out
}

// tarEntries lists a tar's entry names, with " -> target" for links.
func tarEntries(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Name)
	}
}

// TestDiskChanges checks Docker's rules on an upper layer made by hand over an image directory.
func TestDiskChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts and trusted xattrs need root")
	}
	img, upper := t.TempDir(), t.TempDir()
	mk := func(root, p string, dir bool) {
		full := filepath.Join(root, p)
		if dir {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"etc/passwd", "etc/group", "bin/sh", "var/log/old", "opq/old", "same/f"} {
		mk(img, p, false)
	}
	// The upper layer: /etc changed (a file added, one deleted, the guest's hosts), /same copied up as it was,
	// /opq replaced, /new added, /bin/sh modified.
	mk(upper, "etc/x", false)
	mk(upper, "etc/hosts", false)
	mk(upper, "bin/sh", false)
	mk(upper, "new/deep/f", false)
	mk(upper, "opq/fresh", false)
	mk(upper, "same", true)
	if err := unix.Mknod(filepath.Join(upper, "etc/group"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(upper, "opq"), opaqueXattr, []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"same", "bin"} { // copied up with the image's metadata
		st := lstat(t, filepath.Join(img, d))
		if err := unix.UtimesNano(filepath.Join(upper, d), []unix.Timespec{st.Atim, st.Mtim}); err != nil {
			t.Fatal(err)
		}
	}
	open := func(p string) int {
		fd, err := openDirFD(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	guest := []string{"/etc/hostname", "/etc/hosts"}
	got, err := diskChanges(context.Background(), open(upper), open(img), guest, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"C /bin/sh", "C /etc", "D /etc/group", "D /etc/hostname", "A /etc/x", "A /new", "A /new/deep",
		"A /new/deep/f", "D /opq", "A /opq/fresh"}
	if s := changesOf(got); !slices.Equal(s, want) {
		t.Errorf("changes\n got %q\nwant %q", s, want)
	}
	// Before any boot, the guest's files missing are no deletion.
	got, _ = diskChanges(context.Background(), open(upper), open(img), guest, false)
	if slices.Contains(changesOf(got), "D /etc/hostname") {
		t.Error("a container never booted lost /etc/hostname")
	}

	var buf bytes.Buffer
	if err := writeDiskDiff(context.Background(), &buf, open(upper), guest); err != nil {
		t.Fatal(err)
	}
	names := tarEntries(t, &buf)
	for _, want := range []string{"etc/", "etc/.wh.group", "etc/x", "opq/", "opq/.wh..wh..opq", "opq/fresh", "new/deep/f", "bin/sh"} {
		if !slices.Contains(names, want) {
			t.Errorf("diff lacks %s: %q", want, names)
		}
	}
	if slices.Contains(names, "etc/hosts") || slices.Contains(names, "etc/group") {
		t.Errorf("diff has the guest's file or the whiteout itself: %q", names)
	}
}

// TestStoppedContainerFilesystem reads and writes a created container's disk without starting it, and checks
// that its diff, written as a layer on its image, gives back its filesystem.
func TestStoppedContainerFilesystem(t *testing.T) {
	e := newContainerEnv(t)
	ctx := context.Background()
	base, child := randomID(), randomID()
	if _, err := e.b.WriteLayer(ctx, base, "", "none", bytes.NewReader(buildTar(t, baseEntries()...))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.WriteLayer(ctx, child, base, "none", bytes.NewReader(buildTar(t, childEntries()...))); err != nil {
		t.Fatal(err)
	}
	info := e.create(t, spec("files", child, models.Process{}, nil))
	id := *info.ID

	st, err := e.b.StatPath(ctx, id, "/bin/sh")
	if err != nil || st.Name != "sh" || st.LinkTarget != "/bin/busybox" || uint32(st.Mode)&unix.S_IFMT != unix.S_IFLNK {
		t.Fatalf("stat /bin/sh: %+v, %v", st, err)
	}
	if _, err := e.b.StatPath(ctx, id, "/gone.txt"); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("stat of a whited-out file: %v", err)
	}

	// Written through the backend, and deleted as a guest would (through an overlay, so the kernel makes the
	// whiteout).
	in := buildTar(t, dir("new/", 0o755), file("new/f", 0o640, "made"), file("etc/x", 0o600, "x"))
	if err := e.b.WriteArchive(ctx, id, "/", sdk.WriteArchiveOptions{}, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if err := e.b.WriteArchive(ctx, id, "/etc/passwd", sdk.WriteArchiveOptions{}, bytes.NewReader(in)); !errdefs.Is(err, errdefs.ErrInvalid) {
		t.Errorf("extract into a file: %v", err)
	}
	if err := e.b.WriteArchive(ctx, id, "/nope", sdk.WriteArchiveOptions{}, bytes.NewReader(in)); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("extract into a missing directory: %v", err)
	}
	_, d, err := e.b.openContainerDisk(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	ld := d.(*localContainerDisk)
	fd, err := mountOverlay(ld.lower, ld.upper, ld.work)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Unlinkat(fd, "etc/passwd", 0); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	d.Close()

	changes, err := e.b.ContainerChanges(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"C /etc", "D /etc/passwd", "A /etc/x", "A /new", "A /new/f"}
	if got := changesOf(changes); !slices.Equal(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}

	rc, err := e.b.ReadArchive(ctx, id, "/new/.")
	if err != nil {
		t.Fatal(err)
	}
	if got := tarEntries(t, rc); !slices.Equal(got, []string{"./", "./f"}) {
		t.Errorf("archive of /new/. = %q", got)
	}
	rc.Close()
	if _, err := e.b.ReadArchive(ctx, id, "/nope"); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("archive of a missing path: %v", err)
	}

	rc, err = e.b.ExportContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	exported := tarEntries(t, rc)
	rc.Close()
	for _, name := range []string{"new/f", "etc/x", "etc/hostname", "bin/tool", "opq/new.txt"} {
		if !slices.Contains(exported, name) {
			t.Errorf("export lacks %s", name)
		}
	}
	for _, name := range []string{"gone.txt", "etc/passwd", "opq/old.txt"} {
		if slices.Contains(exported, name) {
			t.Errorf("export has %s", name)
		}
	}

	// The diff as a layer on the image gives the container's filesystem.
	rc, err = e.b.ReadContainerDiff(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	diff, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	committed := randomID()
	if _, err := e.b.WriteLayer(ctx, committed, child, "none", bytes.NewReader(diff)); err != nil {
		t.Fatalf("write the diff as a layer: %v\n%q", err, tarEntries(t, bytes.NewReader(diff)))
	}
	lower, err := LowerDirs(filepath.Join(e.dsDir, filepath.FromSlash(LayerDescriptor(DefaultVCHName, committed))))
	if err != nil {
		t.Fatal(err)
	}
	fd, err = mountOverlay(lower, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for p, want := range map[string]bool{"new/f": true, "etc/x": true, "etc/passwd": false, "gone.txt": false, "bin/tool": true} {
		var st unix.Stat_t
		if got := unix.Fstatat(fd, p, &st, unix.AT_SYMLINK_NOFOLLOW) == nil; got != want {
			t.Errorf("%s in the committed image: %v, want %v", p, got, want)
		}
	}
}

// TestStoppedContainerMounts: a stopped container's paths on its mounts are read and written where the mount's
// files are, as dockerd mounts a stopped container's volumes for docker cp: a volume's on the volume's disk
// (another container with the volume sees what was copied in), a bind mount's in its host directory; a
// tmpfs has no files while stopped, so its path is the disk's beneath it; a read-only mount is not written.
func TestStoppedContainerMounts(t *testing.T) {
	ctx := context.Background()
	b, sim := volumeEnv(t)
	b.cfg.HostBinds = true
	e := &containerEnv{b: b, c: sim.client(t), dsDir: datastoreDir(t, b)}
	for _, n := range []string{"data", "logs"} {
		if _, err := b.CreateVolume(ctx, &models.VolumeSpec{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "h.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	layer := e.emptyLayer(t)
	s := spec("mounted", layer, models.Process{}, nil)
	s.Mounts = []*models.Mount{
		{Type: "volume", Source: "data", Destination: "/data"},
		{Type: "volume", Source: "logs", Destination: "/data/logs", ReadOnly: true},
		{Type: "bind", Source: host, Destination: "/h"},
		{Type: "tmpfs", Destination: "/scratch"},
	}
	id := *e.create(t, s).ID
	other := spec("other", layer, models.Process{}, nil)
	other.Mounts = []*models.Mount{{Type: "volume", Source: "data", Destination: "/elsewhere"}}
	otherID := *e.create(t, other).ID

	// Into the volume, at its mount point and below it.
	if err := b.WriteArchive(ctx, id, "/data", sdk.WriteArchiveOptions{},
		bytes.NewReader(buildTar(t, dir("sub", 0o755), file("sub/f", 0o644, "on the volume")))); err != nil {
		t.Fatalf("write to the volume: %v", err)
	}
	if err := b.WriteArchive(ctx, id, "/data/sub/", sdk.WriteArchiveOptions{},
		bytes.NewReader(buildTar(t, file("g", 0o600, "too")))); err != nil {
		t.Fatalf("write below the volume's mount point: %v", err)
	}
	for _, c := range []struct{ id, path, name string }{
		{id, "/data", "data"}, {id, "/data/sub/f", "f"}, {otherID, "/elsewhere/sub/g", "g"}, {id, "/h/h.txt", "h.txt"},
	} {
		st, err := b.StatPath(ctx, c.id, c.path)
		if err != nil || st.Name != c.name {
			t.Errorf("stat %s: %+v %v, want the name %q", c.path, st, err, c.name)
		}
	}
	rc, err := b.ReadArchive(ctx, otherID, "/elsewhere")
	if err != nil {
		t.Fatalf("read the volume through the other container: %v", err)
	}
	got := readTarFiles(t, rc)
	if got["elsewhere/sub/f"] != "on the volume" || got["elsewhere/sub/g"] != "too" {
		t.Errorf("the volume read through the other container: %v", got)
	}
	// The container's own disk has none of it.
	if _, err := b.StatPath(ctx, otherID, "/data"); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("the other container's disk has /data: %v", err)
	}
	rc, err = b.ReadArchive(ctx, id, "/h/")
	if err != nil {
		t.Fatal(err)
	}
	if got := readTarFiles(t, rc); got["h/h.txt"] != "from the host" {
		t.Errorf("the bind mount read: %v", got)
	}

	// The read-only volume is read, not written.
	if err := b.WriteArchive(ctx, id, "/data/logs", sdk.WriteArchiveOptions{},
		bytes.NewReader(buildTar(t, file("x", 0o644, "x")))); !errdefs.Is(err, errdefs.ErrInvalid) {
		t.Errorf("write to a read-only volume: %v", err)
	}
	if st, err := b.StatPath(ctx, id, "/data/logs"); err != nil || st.Name != "logs" {
		t.Errorf("stat the read-only volume: %+v %v", st, err)
	}

	// A tmpfs holds nothing while stopped: the disk beneath it is written and read.
	if err := b.WriteArchive(ctx, id, "/", sdk.WriteArchiveOptions{},
		bytes.NewReader(buildTar(t, dir("scratch", 0o755), file("scratch/f", 0o644, "on the disk")))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.StatPath(ctx, id, "/scratch/f"); err != nil {
		t.Errorf("stat under the tmpfs: %v", err)
	}
	// Nothing stays attached or open: the volume is removed once both containers are.
	for _, c := range []string{id, otherID} {
		if err := b.RemoveContainer(ctx, c, false); err != nil {
			t.Fatalf("remove %s: %v", c, err)
		}
	}
	if err := b.RemoveVolume(ctx, "data"); err != nil {
		t.Errorf("remove the volume: %v", err)
	}
}

// readTarFiles reads a tar's regular files by name and closes rc.
func readTarFiles(t *testing.T, rc io.ReadCloser) map[string]string {
	t.Helper()
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}
