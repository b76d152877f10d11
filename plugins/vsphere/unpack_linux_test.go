package vsphere

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

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
