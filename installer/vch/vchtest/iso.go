package vchtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// ISOs builds an appliance.iso (VERSION, init, two plugins) and a bootstrap.iso (VERSION, tether) of a
// version in a temporary directory.
func ISOs(t *testing.T, version string) (appliance, bootstrap string) {
	t.Helper()
	dir := t.TempDir()
	appliance = filepath.Join(dir, "appliance.iso")
	bootstrap = filepath.Join(dir, "bootstrap.iso")
	BuildISO(t, appliance, map[string]string{
		"VERSION": version + "\n", "init": "#!init " + version,
		"plugins/vice-plugin-vsphere": "vsphere plugin " + version, "plugins/vice-plugin-vcsim": "vcsim plugin " + version,
	})
	BuildISO(t, bootstrap, map[string]string{"VERSION": version + "\n", "tether": "tether " + version})
	return appliance, bootstrap
}

// BuildISO writes an ISO9660 image with Rock Ridge holding files (path to content) at out.
func BuildISO(t *testing.T, out string, files map[string]string) {
	t.Helper()
	work := t.TempDir()
	for name, data := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(out, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fsys, err := iso9660.Create(file.New(f, false), 0, 0, 2048, work)
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.Finalize(iso9660.FinalizeOptions{RockRidge: true, VolumeIdentifier: "TEST"}); err != nil {
		t.Fatal(err)
	}
}
