package vsphere

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestBootstrapISOUploadedWhenItDiffers(t *testing.T) {
	s := startSim(t, oneCluster(), nil)
	iso := filepath.Join(t.TempDir(), "bootstrap.iso")
	if err := os.WriteFile(iso, []byte("iso v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := s.config()
	cfg.BootstrapISO = iso
	b := newBackend(t, cfg)
	onDS := filepath.Join(datastoreDir(t, b), DefaultVCHName, bootstrapISO)
	if data, err := os.ReadFile(onDS); err != nil || string(data) != "iso v1" {
		t.Fatalf("datastore copy %q %v", data, err)
	}
	past := time.Now().Add(-time.Hour)
	_ = os.Chtimes(onDS, past, past)

	newBackend(t, cfg) // the same ISO: left alone
	if st, err := os.Stat(onDS); err != nil || !st.ModTime().Equal(past) {
		t.Errorf("an unchanged ISO was uploaded again: %v %v", st.ModTime(), err)
	}

	if err := os.WriteFile(iso, []byte("iso v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	newBackend(t, cfg)
	if data, err := os.ReadFile(onDS); err != nil || string(data) != "iso v2" {
		t.Errorf("changed ISO: datastore copy %q %v", data, err)
	}
}
