package iso_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vice-engine/vice/installer/iso"
)

func TestBootstrapRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tether := filepath.Join(dir, "tether-in")
	// Bigger than a block and not a multiple of one, so the file's extent and length are exercised.
	content := bytes.Repeat([]byte("\x7fELF tether payload "), 50_000)
	if err := os.WriteFile(tether, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap.iso")
	if err := iso.BuildBootstrap(context.Background(), tether, out, iso.WithVersion("v1.2.3")); err != nil {
		t.Fatal(err)
	}
	got, err := iso.ReadFile(out, iso.TetherPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("tether: %d bytes back, want %d", len(got), len(content))
	}
	fi, err := iso.Stat(out, iso.TetherPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Name() != "tether" || fi.Mode().Perm() != 0o755 {
		t.Errorf("tether is %q mode %v, want tether 0755", fi.Name(), fi.Mode())
	}
	version, err := iso.ReadFile(out, iso.VersionPath)
	if err != nil || string(version) != "v1.2.3\n" {
		t.Errorf("VERSION %q %v", version, err)
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("scratch image left behind: %v", err)
	}
}

func TestBootstrapCancelled(t *testing.T) {
	dir := t.TempDir()
	tether := filepath.Join(dir, "tether")
	if err := os.WriteFile(tether, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "bootstrap.iso")
	if err := iso.BuildBootstrap(ctx, tether, out); err == nil {
		t.Fatal("cancelled build succeeded")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("image written despite cancel: %v", err)
	}
}

func TestBootstrapMissingTether(t *testing.T) {
	dir := t.TempDir()
	if err := iso.BuildBootstrap(context.Background(), filepath.Join(dir, "none"), filepath.Join(dir, "b.iso")); err == nil {
		t.Fatal("built without a tether")
	}
}
