package emulator

import (
	"os"
	"path/filepath"
	"testing"
)

// TestISODigestFollowsTheFile checks that an ISO's digest is remembered while the file stays the same and
// taken again once the file is rewritten (an upgraded bootstrap ISO uploaded over the old one).
func TestISODigestFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	iso := filepath.Join(dir, "bootstrap.iso")
	if err := os.WriteFile(iso, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &tetherCache{dir: filepath.Join(dir, "cache")}
	first, err := c.digest(iso)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fileSHA256(iso)
	if err != nil {
		t.Fatal(err)
	}
	if first != want {
		t.Fatalf("digest %s, want %s", first, want)
	}
	if again, err := c.digest(iso); err != nil || again != first {
		t.Fatalf("second digest of the same file: %s, %v; want %s", again, err, first)
	}
	if err := os.WriteFile(iso, []byte("second, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := c.digest(iso)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := fileSHA256(iso); changed != want || changed == first {
		t.Fatalf("digest after a rewrite %s, want %s (the first was %s)", changed, want, first)
	}
	if _, err := c.digest(filepath.Join(dir, "missing.iso")); err == nil {
		t.Fatal("digest of a missing ISO succeeded")
	}
}
