package vsphere

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestUnpackOverlayFormat(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unpacking owners, devices and trusted xattrs needs root")
	}
	base, child := filepath.Join(t.TempDir(), "base"), filepath.Join(t.TempDir(), "child")
	for _, d := range []string{base, child} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	size, err := unpackTar(context.Background(), bytes.NewReader(buildTar(t, baseEntries()...)), base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := regularBytes(baseEntries()); size != want {
		t.Errorf("size %d, want %d", size, want)
	}
	checkBaseRootfs(t, base)
	if _, err := unpackTar(context.Background(), bytes.NewReader(buildTar(t, childEntries()...)), child, nil); err != nil {
		t.Fatal(err)
	}
	checkChildRootfs(t, child)
}

// escapeCases are diffs that try to write outside the layer; outside holds the file "secret".
func escapeCases(outside string) map[string][]entry {
	esc := link(tar.TypeSymlink, "esc", outside)
	return map[string][]entry{
		"dotdot":               {file("../evil", 0o644, "x")},
		"dotdot inside":        {dir("a/", 0o755), file("a/../../evil", 0o644, "x")},
		"symlink dir":          {esc, file("esc/evil", 0o644, "x")},
		"relative symlink dir": {link(tar.TypeSymlink, "up", "../../../../../.."), file("up"+outside+"/evil", 0o644, "x")},
		"mkdir via symlink":    {esc, dir("esc/sub/", 0o755)},
		"hardlink dotdot":      {link(tar.TypeLink, "h", "../secret")},
		"hardlink via symlink": {esc, link(tar.TypeLink, "h", "esc/secret")},
		"hardlink absolute":    {link(tar.TypeLink, "h", filepath.Join(outside, "secret"))},
		"whiteout via symlink": {esc, file("esc/.wh.secret", 0, "")},
		"opaque via symlink":   {esc, file("esc/.wh..wh..opq", 0, "")},
		"file under a file":    {file("a", 0o644, "x"), file("a/b", 0o644, "x")},
	}
}

func TestUnpackRejectsEscapes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, entries := range escapeCases(outside) {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			root := filepath.Join(parent, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := unpackTar(context.Background(), bytes.NewReader(buildTar(t, entries...)), root, nil)
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("got %v, want invalid", err)
			}
			if names := dirNames(t, outside); len(names) != 1 {
				t.Errorf("outside holds %v", names)
			}
			if names := dirNames(t, parent); len(names) != 1 {
				t.Errorf("root's parent holds %v", names)
			}
			if data, _ := os.ReadFile(secret); string(data) != "secret" {
				t.Errorf("secret now holds %q", data)
			}
			if st := lstat(t, secret); st.Nlink != 1 {
				t.Errorf("secret has %d links", st.Nlink)
			}
		})
	}
}

func TestUnpackMalformed(t *testing.T) {
	good := buildTar(t, file("a", 0o644, string(bytes.Repeat([]byte("x"), 4096))))
	for name, data := range map[string][]byte{
		"garbage":   bytes.Repeat([]byte("not a tar "), 200),
		"truncated": good[:2048], // inside the file
	} {
		t.Run(name, func(t *testing.T) {
			_, err := unpackTar(context.Background(), bytes.NewReader(data), t.TempDir(), nil)
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("got %v, want invalid", err)
			}
		})
	}
}

// Onto a filesystem that holds the parent already (a child disk), whiteouts are applied: the hidden file
// and the opaque directory's old contents are gone, what the child made stays, even when it came before
// the opaque marker.
func TestUnpackApplied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unpacking owners, devices and trusted xattrs needs root")
	}
	root := t.TempDir()
	if _, err := unpackTar(context.Background(), bytes.NewReader(buildTar(t, baseEntries()...)), root, nil); err != nil {
		t.Fatal(err)
	}
	child := append(childEntries(),
		dir("bin/", 0o755), file("bin/.wh.tool2", 0, ""), // a hard link's other name goes, the file stays
		dir("etc/deep/", 0o755), file("etc/deep/keep", 0o644, "k"),
		file("etc/-early", 0o644, "e"), file("etc/.wh..wh..opq", 0, ""), // etc made opaque after two entries
		file(".wh.run", 0, ""), // a whole directory hidden
	)
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unpackTarAt(context.Background(), bytes.NewReader(buildTar(t, child...)), fd, nil, true); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"gone.txt", "opq/old.txt", "bin/tool2", "etc/passwd", "run"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", gone, err)
		}
	}
	for name, want := range map[string]string{"opq/new.txt": "new", "etc/hostname": "vice\n", "etc/deep/keep": "k",
		"etc/-early": "e", "bin/tool": "#!/bin/sh\necho tool\n"} {
		if b, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	if got := dirNames(t, filepath.Join(root, "etc")); strings.Join(got, " ") != "-early deep hostname" {
		t.Errorf("etc holds %v", got)
	}
	buf := make([]byte, 8)
	if _, err := unix.Getxattr(filepath.Join(root, "opq"), opaqueXattr, buf); err == nil {
		t.Error("an applied opaque directory got overlayfs's marker")
	}
	if st := lstat(t, filepath.Join(root, "bin/tool")); st.Nlink != 1 {
		t.Errorf("bin/tool has %d links", st.Nlink)
	}
}
