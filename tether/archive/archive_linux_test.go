package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var mtime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// tree makes a container-like root: /dir with a file, an empty directory, symlinks (relative, absolute,
// escaping, dangling), a hard link and a fifo; /etc/passwd and /etc/group.
func tree(t *testing.T) (string, *FS) {
	t.Helper()
	root := t.TempDir()
	mk := func(p string, mode os.FileMode, body string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("dir/file", 0o640, "hello\n")
	mk("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n")
	mk("etc/group", 0o644, "root:x:0:\nstaff:x:50:\napp:x:1001:\n")
	for _, d := range []string{"dir/empty", "dest"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"dir/link": "file", "dir/abs": "/etc", "dir/escape": "../../../../etc/passwd", "dir/dangling": "/nowhere/x",
		"todir": "dir",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(root, "dir/file"), filepath.Join(root, "dir/hard")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(root, "dir/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"dir/file", "dir/empty", "dir"} {
		if err := os.Chtimes(filepath.Join(root, p), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return root, f
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/dir": "/tmp/dir", "tmp/dir/": "/tmp/dir/", "/tmp/dir/.": "/tmp/dir/.", "/": "/", ".": "/.",
		"/a/../b": "/b", "/a/..": "/", "../../x": "/x", "/a//b/": "/a/b/",
	} {
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStat(t *testing.T) {
	_, f := tree(t)
	for _, c := range []struct {
		path, name, link string
		mode             uint32
	}{
		{"/dir", "dir", "", unix.S_IFDIR},
		{"/dir/", "dir", "", unix.S_IFDIR},
		{"/dir/.", ".", "", unix.S_IFDIR},
		{"/", "/", "", unix.S_IFDIR},
		{"/dir/file", "file", "", unix.S_IFREG},
		{"/dir/link", "link", "/dir/file", unix.S_IFLNK},
		{"/todir", "todir", "/dir", unix.S_IFLNK},
		{"/todir/", "todir", "", unix.S_IFDIR},
		{"/todir/file", "file", "", unix.S_IFREG},
		{"/dir/abs", "abs", "/etc", unix.S_IFLNK},
		{"/dir/escape", "escape", "/etc/passwd", unix.S_IFLNK},
		{"/dir/dangling", "dangling", "/nowhere/x", unix.S_IFLNK},
		{"/dir/abs/passwd", "passwd", "", unix.S_IFREG}, // the link resolves in the tree, not on the host
	} {
		st, err := f.Stat(c.path)
		if err != nil {
			t.Errorf("Stat(%q): %v", c.path, err)
			continue
		}
		if st.Name != c.name || st.LinkTarget != c.link || st.Mode&unix.S_IFMT != c.mode {
			t.Errorf("Stat(%q) = %+v, want name %q link %q type %o", c.path, st, c.name, c.link, c.mode)
		}
	}
	if st, _ := f.Stat("/dir/file"); st.Size != 6 || st.Mode&0o7777 != 0o640 || !st.ModTime.Equal(mtime) {
		t.Errorf("file stat %+v", st)
	}
	if _, err := f.Stat("/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a missing path = %v, want not exist", err)
	}
	if _, err := f.Stat("/dir/file/x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Stat below a file = %v, want invalid", err)
	}
}

// entries reads a tar's entry names and, for links, their targets.
func entries(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		s := h.Name
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		out = append(out, s)
	}
}

func TestArchiveNames(t *testing.T) {
	_, f := tree(t)
	dirEntries := []string{"", "abs -> /etc", "dangling -> /nowhere/x", "empty/", "escape -> ../../../../etc/passwd",
		"fifo", "file", "hard -> %file", "link -> file"}
	named := func(prefix string) []string {
		var out []string
		for _, e := range dirEntries {
			if e == "" {
				out = append(out, prefix+"/")
				continue
			}
			out = append(out, prefix+"/"+strings.ReplaceAll(e, "%", prefix+"/"))
		}
		return out
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/dir", named("dir")},
		{"/dir/", named("dir")},
		{"/todir/", named("todir")},
		{"/dir/.", named(".")},
		{"/dir/file", []string{"file"}},
		{"/dir/link", []string{"link -> file"}},
		{"/todir", []string{"todir -> dir"}},
	} {
		var buf bytes.Buffer
		if err := f.Archive(context.Background(), &buf, c.path); err != nil {
			t.Fatalf("Archive(%q): %v", c.path, err)
		}
		if got := entries(t, buf.Bytes()); !slices.Equal(got, c.want) {
			t.Errorf("Archive(%q) = %q, want %q", c.path, got, c.want)
		}
	}
	if err := f.Archive(context.Background(), io.Discard, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Archive of a missing path = %v", err)
	}
}

func TestArchiveRoot(t *testing.T) {
	_, f := tree(t)
	var buf bytes.Buffer
	if err := f.Archive(context.Background(), &buf, "/"); err != nil {
		t.Fatal(err)
	}
	got := entries(t, buf.Bytes())
	if got[0] != "/" || !slices.Contains(got, "/dir/file") || !slices.Contains(got, "/etc/passwd") {
		t.Errorf("archive of / = %q", got)
	}
	buf.Reset()
	if err := f.Export(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	got = entries(t, buf.Bytes())
	if got[0] != "dest/" || !slices.Contains(got, "dir/file") || slices.Contains(got, "./") {
		t.Errorf("export = %q", got)
	}
}

// tarOf makes a tar of headers; regular files get their names as contents unless body says otherwise.
func tarOf(t *testing.T, hdrs ...*tar.Header) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		var body []byte
		if h.Typeflag == tar.TypeReg {
			body = []byte(h.Name)
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func TestExtract(t *testing.T) {
	root, f := tree(t)
	ctx := context.Background()
	err := f.Extract(ctx, tarOf(t,
		&tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o750, ModTime: mtime},
		&tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Mode: 0o4755, ModTime: mtime},
		&tar.Header{Name: "a/l", Typeflag: tar.TypeSymlink, Linkname: "b"},
		&tar.Header{Name: "a/h", Typeflag: tar.TypeLink, Linkname: "a/b", Mode: 0o4755},
		&tar.Header{Name: "deep/er/c", Typeflag: tar.TypeReg},
	), "/todir/../dest", ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(root, "dest/a/b"))
	if err != nil || string(body) != "a/b" {
		t.Fatalf("dest/a/b = %q, %v", body, err)
	}
	st, _ := os.Lstat(filepath.Join(root, "dest/a/b"))
	if st.Mode()&os.ModeSetuid == 0 || st.Mode().Perm() != 0o755 || !st.ModTime().Equal(mtime) {
		t.Errorf("dest/a/b: %v %v", st.Mode(), st.ModTime())
	}
	if st, _ := os.Lstat(filepath.Join(root, "dest/a")); st.Mode().Perm() != 0o750 || !st.ModTime().Equal(mtime) {
		t.Errorf("dest/a: %v %v", st.Mode(), st.ModTime())
	}
	if target, _ := os.Readlink(filepath.Join(root, "dest/a/l")); target != "b" {
		t.Errorf("dest/a/l -> %q", target)
	}
	h1, _ := os.Stat(filepath.Join(root, "dest/a/h"))
	if !os.SameFile(h1, st) {
		t.Error("dest/a/h is not a hard link of dest/a/b")
	}
	if _, err := os.Stat(filepath.Join(root, "dest/deep/er/c")); err != nil {
		t.Error(err)
	}

	// An entry below a symlink to the root lands in the tree's root, never the host's.
	if err := os.Symlink("/", filepath.Join(root, "dest/up")); err != nil {
		t.Fatal(err)
	}
	if err := f.Extract(ctx, tarOf(t, &tar.Header{Name: "up/landed", Typeflag: tar.TypeReg}), "/dest", ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "landed")); err != nil {
		t.Errorf("the entry did not land in the tree's root: %v", err)
	}
}

func TestExtractErrors(t *testing.T) {
	_, f := tree(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		path string
		tar  *bytes.Reader
		opts ExtractOptions
		want error
	}{
		{"missing point", "/nope", tarOf(t), ExtractOptions{}, fs.ErrNotExist},
		{"file point", "/dir/file", tarOf(t), ExtractOptions{}, ErrInvalid},
		{"climbing name", "/dest", tarOf(t, &tar.Header{Name: "../x", Typeflag: tar.TypeReg}), ExtractOptions{}, ErrInvalid},
		{"climbing symlink", "/dest", tarOf(t, &tar.Header{Name: "s", Typeflag: tar.TypeSymlink, Linkname: "../../x"}), ExtractOptions{}, ErrInvalid},
		{"climbing hard link", "/dest", tarOf(t, &tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../dir/file"}), ExtractOptions{}, ErrInvalid},
		{"dir onto file", "/", tarOf(t, &tar.Header{Name: "dir/file", Typeflag: tar.TypeDir}), ExtractOptions{NoOverwriteDirNonDir: true}, ErrInvalid},
		{"file onto dir", "/", tarOf(t, &tar.Header{Name: "dir/empty", Typeflag: tar.TypeReg}), ExtractOptions{NoOverwriteDirNonDir: true}, ErrInvalid},
		{"not a tar", "/dest", bytes.NewReader(bytes.Repeat([]byte("x"), 1024)), ExtractOptions{}, ErrInvalid},
	} {
		if err := f.Extract(ctx, c.tar, c.path, c.opts); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Without the rule, a file replaces a directory.
	if err := f.Extract(ctx, tarOf(t, &tar.Header{Name: "dir/empty", Typeflag: tar.TypeReg}), "/", ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stat("/dir/empty"); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("dir/empty after the file replaced it: %+v %v", st, err)
	}
}

func TestRoundTrip(t *testing.T) {
	root, f := tree(t)
	ctx := context.Background()
	// Docker refuses to extract a relative symlink that climbs out of the extraction point.
	if err := os.Remove(filepath.Join(root, "dir/escape")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Archive(ctx, &buf, "/dir"); err != nil {
		t.Fatal(err)
	}
	if err := f.Extract(ctx, &buf, "/dest", ExtractOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"file", "empty", "link", "abs", "fifo", "hard", "."} {
		a, err1 := os.Lstat(filepath.Join(root, "dir", p))
		b, err2 := os.Lstat(filepath.Join(root, "dest/dir", p))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", p, err1, err2)
		}
		if a.Mode() != b.Mode() || (!a.IsDir() && a.Size() != b.Size()) || !a.ModTime().Truncate(time.Second).Equal(b.ModTime()) {
			t.Errorf("%s: %v %d %v, copied %v %d %v", p, a.Mode(), a.Size(), a.ModTime(), b.Mode(), b.Size(), b.ModTime())
		}
	}
	h, _ := os.Stat(filepath.Join(root, "dest/dir/hard"))
	fl, _ := os.Stat(filepath.Join(root, "dest/dir/file"))
	if !os.SameFile(h, fl) {
		t.Error("the hard link was not kept")
	}
}

func TestOwner(t *testing.T) {
	root, f := tree(t)
	for user, want := range map[string]Owner{"app": {1000, 1001}, "1000": {1000, 1001}, "4242": {4242, 0},
		"app:staff": {1000, 50}, "0:7": {0, 7}} {
		o, err := f.LookupOwner(user)
		if err != nil || *o != want {
			t.Errorf("LookupOwner(%q) = %v, %v, want %v", user, o, err, want)
		}
	}
	if o, err := f.LookupOwner(""); o != nil || err != nil {
		t.Errorf("LookupOwner(\"\") = %v, %v", o, err)
	}
	if _, err := f.LookupOwner("ghost"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown user: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	o, _ := f.LookupOwner("app")
	if err := f.Extract(context.Background(), tarOf(t, &tar.Header{Name: "owned", Typeflag: tar.TypeReg, Uid: 7, Gid: 8}),
		"/dest", ExtractOptions{Owner: o}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "dest/owned"), &st); err != nil || st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("owner %d:%d, %v", st.Uid, st.Gid, err)
	}
}
