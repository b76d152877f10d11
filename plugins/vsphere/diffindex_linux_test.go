package vsphere

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// TestLayerDiffIndex writes diffs whose later entries replace earlier ones in every way tar allows, and checks
// that each reads back byte for byte from its index and unpacked files, that the index stays small, and that
// a changed file is caught instead of giving another diff.
func TestLayerDiffIndex(t *testing.T) {
	ls := newLayerStore(t)
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	xattr := file("attr", 0o644, "with an xattr")
	xattr.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.note": "kept"}
	plnk := file(".wh..wh.plnk/1234", 0o644, "aufs bookkeeping, not unpacked")

	replacing := buildTar(t,
		file("big", 0o644, string(big)),
		file("a", 0o644, "first"), file("a", 0o600, "second"), // a file replaced by a file
		dir("d/", 0o755), file("d/x", 0o644, "x in d"), dir("d/e/", 0o755), file("d/e/y", 0o644, "y in d/e"),
		file("d", 0o644, "d is a file now"),                  // a directory of kept files replaced by a file
		file("w", 0o644, "whited out"), file(".wh.w", 0, ""), // a whiteout of this layer's own file
		file("h", 0o644, "linked"), link(tar.TypeLink, "h2", "h"), file("h", 0o644, "h again"),
		file("s", 0o644, "becomes a symlink"), link(tar.TypeSymlink, "s", "a"),
		file("f", 0o644, "becomes a directory"), dir("f/", 0o755), file("f/in", 0o644, "in f"),
		file("empty", 0o644, ""), xattr, plnk,
	)
	// Bytes after the end of the archive beyond the usual record padding are part of the diff too.
	replacing = append(replacing, bytes.Repeat([]byte{0}, 3*512)...)

	for name, c := range map[string]struct {
		compression string
		stream      []byte
	}{"none": {"none", replacing}, "gzip": {"gzip", gzipped(t, replacing)}} {
		t.Run(name, func(t *testing.T) {
			id := randomID()
			l := ls.write(t, id, "", c.compression, c.stream)
			if l.DiffSize != int64(len(replacing)) {
				t.Errorf("diffSize %d, want %d", l.DiffSize, len(replacing))
			}
			back := readDiff(t, ls, id)
			if !bytes.Equal(back, replacing) {
				t.Fatalf("the diff read back differs: %d bytes, %d written", len(back), len(replacing))
			}
			st, err := os.Stat(filepath.Join(ls.images, id, diffIndexFile))
			if err != nil || st.Size() > 64<<10 {
				t.Errorf("index: %v, %d bytes for a %d-byte diff", err, st.Size(), len(replacing))
			}
			root := DiskDataDir(ls.descriptor(id))
			for p, want := range map[string]string{"a": "second", "d": "d is a file now", "h": "h again",
				"h2": "linked", "f/in": "in f"} {
				if got, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(got) != want {
					t.Errorf("%s = %q (%v), want %q", p, got, err, want)
				}
			}
			if names := dirNames(t, filepath.Join(ls.images, id, diffStashDir)); len(names) != 7 {
				t.Errorf("stash holds %v, want the 7 replaced files (a, d/x, d/e/y, w, h, s, f)", names)
			}
		})
	}

	// A changed file gives no diff: the digest check at the end fails the read.
	id := randomID()
	ls.write(t, id, "", "none", replacing)
	target := filepath.Join(DiskDataDir(ls.descriptor(id)), "big")
	changed := append([]byte{}, big...)
	changed[4096] ^= 0xff
	if err := os.WriteFile(target, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readDiffErr(ls, id); !errors.Is(err, errdefs.ErrSystem) || !strings.Contains(err.Error(), "record says") {
		t.Errorf("a changed file: %v, want a digest failure", err)
	}
	// A file of another size fails at once.
	if err := os.WriteFile(target, big[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readDiffErr(ls, id); !errors.Is(err, errdefs.ErrSystem) || !strings.Contains(err.Error(), "index says") {
		t.Errorf("a truncated file: %v, want a size failure", err)
	}
	// A symlink in place of a directory is not followed.
	if err := os.WriteFile(target, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readDiffErr(ls, id); err != nil {
		t.Fatalf("restored: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(DiskDataDir(ls.descriptor(id)), "f")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(DiskDataDir(ls.descriptor(id)), "f")); err != nil {
		t.Fatal(err)
	}
	if _, err := readDiffErr(ls, id); err == nil {
		t.Error("read through a symlink")
	}
}

func readDiff(t *testing.T, ls *layerStore, id string) []byte {
	t.Helper()
	b, err := readDiffErr(ls, id)
	if err != nil {
		t.Fatalf("read the diff of %s: %v", id, err)
	}
	return b
}

func readDiffErr(ls *layerStore, id string) ([]byte, error) {
	rc, err := ls.b.ReadLayerDiff(context.Background(), id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
