package vsphere

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// entry is one tar entry of a test diff.
type entry struct {
	hdr  tar.Header
	body string
}

var fixtureTime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

func dir(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: fixtureTime}}
}

func file(name string, mode int64, body string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)),
		ModTime: fixtureTime}, body: body}
}

func link(typ byte, name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777, ModTime: fixtureTime}}
}

// buildTar writes entries as a tar with the end-of-archive blocks and record padding tar tools add.
func buildTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Format == tar.FormatUnknown && len(h.PAXRecords) > 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if pad := 10240 - buf.Len()%10240; pad < 10240 {
		buf.Write(make([]byte, pad))
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// randomID is a fresh chain ID, so tests never collide.
func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

// baseEntries is a base layer: modes with setuid and sticky bits, owners, an xattr, a hard link, a symlink,
// a fifo, a device, and the files the child layer hides.
func baseEntries() []entry {
	tool := file("bin/tool", 0o4755, "#!/bin/sh\necho tool\n")
	tool.hdr.Uid, tool.hdr.Gid = 1000, 1001
	tool.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.vice":                "hello",
		"SCHILY.xattr.trusted.overlay.redirect": "/elsewhere", // overlayfs's own: must be dropped
	}
	sh := link(tar.TypeSymlink, "bin/sh", "/bin/busybox")
	sh.hdr.Uid, sh.hdr.Gid = 7, 8
	null := entry{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3,
		ModTime: fixtureTime}}
	fifo := entry{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o600, ModTime: fixtureTime}}
	return []entry{
		dir("bin/", 0o755), tool, link(tar.TypeLink, "bin/tool2", "bin/tool"), sh,
		dir("dev/", 0o755), null, dir("run/", 0o755), fifo,
		dir("tmp/", 0o1777),
		dir("/etc/", 0o755), file("/etc/passwd", 0o644, "root:x:0:0::/root:/bin/sh\n"), // absolute names
		file("gone.txt", 0o644, "hidden by the child\n"),
		dir("opq/", 0o755), file("opq/old.txt", 0o644, "old"),
	}
}

// childEntries hides gone.txt, makes opq/ opaque with one new file, and adds a file.
func childEntries() []entry {
	return []entry{
		file(".wh.gone.txt", 0, ""),
		dir("opq/", 0o750), file("opq/.wh..wh..opq", 0, ""), file("opq/new.txt", 0o600, "new"),
		dir("etc/", 0o755), file("etc/hostname", 0o644, "vice\n"),
	}
}

// regularBytes is what LayerInfo.Size must say for entries.
// regularBytes is a layer's size as Docker counts it: its regular files' bytes and its symlinks' targets.
func regularBytes(entries []entry) int64 {
	var n int64
	for _, e := range entries {
		switch e.hdr.Typeflag {
		case tar.TypeReg:
			n += e.hdr.Size
		case tar.TypeSymlink:
			n += int64(len(e.hdr.Linkname))
		}
	}
	return n
}

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return &st
}

// checkBaseRootfs checks what unpacking baseEntries made in dir.
func checkBaseRootfs(t *testing.T, dir string) {
	t.Helper()
	tool := lstat(t, filepath.Join(dir, "bin/tool"))
	if tool.Mode != unix.S_IFREG|0o4755 || tool.Uid != 1000 || tool.Gid != 1001 || tool.Nlink != 2 {
		t.Errorf("bin/tool: mode %o owner %d:%d links %d", tool.Mode, tool.Uid, tool.Gid, tool.Nlink)
	}
	if tool.Mtim.Sec != fixtureTime.Unix() {
		t.Errorf("bin/tool mtime %d, want %d", tool.Mtim.Sec, fixtureTime.Unix())
	}
	if tool2 := lstat(t, filepath.Join(dir, "bin/tool2")); tool2.Ino != tool.Ino {
		t.Error("bin/tool2 is not a hard link to bin/tool")
	}
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(filepath.Join(dir, "bin/tool"), "user.vice", buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("xattr user.vice: %q, %v", buf[:max(n, 0)], err)
	}
	if _, err := unix.Getxattr(filepath.Join(dir, "bin/tool"), "trusted.overlay.redirect", buf); err == nil {
		t.Error("an overlayfs xattr from the tar was applied")
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
	if sh := lstat(t, filepath.Join(dir, "bin/sh")); sh.Uid != 7 || sh.Gid != 8 {
		t.Errorf("bin/sh owner %d:%d", sh.Uid, sh.Gid)
	}
	if null := lstat(t, filepath.Join(dir, "dev/null")); null.Mode != unix.S_IFCHR|0o666 ||
		unix.Major(null.Rdev) != 1 || unix.Minor(null.Rdev) != 3 {
		t.Errorf("dev/null: mode %o rdev %d:%d", null.Mode, unix.Major(null.Rdev), unix.Minor(null.Rdev))
	}
	if fifo := lstat(t, filepath.Join(dir, "run/fifo")); fifo.Mode != unix.S_IFIFO|0o600 {
		t.Errorf("run/fifo mode %o", fifo.Mode)
	}
	if tmp := lstat(t, filepath.Join(dir, "tmp")); tmp.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("tmp mode %o", tmp.Mode)
	}
	if bin := lstat(t, filepath.Join(dir, "bin")); bin.Mtim.Sec != fixtureTime.Unix() {
		t.Errorf("bin mtime %d: a directory's time must survive its entries", bin.Mtim.Sec)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "etc/passwd")); err != nil || len(data) == 0 {
		t.Errorf("etc/passwd (an absolute name) not unpacked below the root: %v", err)
	}
}

// checkChildRootfs checks the overlayfs markers unpacking childEntries made in dir.
func checkChildRootfs(t *testing.T, dir string) {
	t.Helper()
	wh := lstat(t, filepath.Join(dir, "gone.txt"))
	if wh.Mode&unix.S_IFMT != unix.S_IFCHR || wh.Rdev != 0 {
		t.Errorf("gone.txt is not a whiteout: mode %o rdev %d", wh.Mode, wh.Rdev)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".wh.gone.txt")); !os.IsNotExist(err) {
		t.Error(".wh.gone.txt was written as a file")
	}
	buf := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(dir, "opq"), opaqueXattr, buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opq is not opaque: %q, %v", buf[:max(n, 0)], err)
	}
	if names := dirNames(t, filepath.Join(dir, "opq")); len(names) != 1 || names[0] != "new.txt" {
		t.Errorf("opq holds %v", names)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
