package vch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/plugins/vcsim"
)

// testManager records its progress for the test to read (and prints it when the test fails).
func testManager(t *testing.T) (*Manager, *vchtest.Progress) {
	out := &vchtest.Progress{}
	m := &Manager{Progress: out, PollInterval: 20 * time.Millisecond}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("VICE_MACHINE_TEST_OUTPUT") != "" {
			t.Logf("progress:\n%s", out.String())
		}
	})
	return m, out
}

// createOptions is a create of a VCH called name on the simulator, from ISOs of version.
func createOptions(t *testing.T, s *vchtest.Sim, name, version string) CreateOptions {
	app, boot := vchtest.ISOs(t, version)
	return CreateOptions{
		CommonOptions: CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: name, Timeout: 30 * time.Second},
		TLSOptions:    TLSOptions{CertPath: filepath.Join(t.TempDir(), name), CNames: []string{"vch.example.com"}},
		ImageStore:    vcsim.DatastoreName,
		VolumeStores:  []string{vcsim.DatastoreName + "/volumes/" + name + ":default"},
		BridgeNetwork: vcsim.BridgeNetwork,
		PublicNetwork: vcsim.VMNetwork,
		DNS:           []string{"10.0.0.53"},
		ApplianceISO:  app,
		BootstrapISO:  boot,
		Backend:       "vcsim",
	}
}

// createVCH makes a VCH "name" of version with the fake appliance, and returns its options and ID.
func createVCH(t *testing.T, s *vchtest.Sim, name, version string, change func(*CreateOptions)) (CreateOptions, *vchtest.Appliance, string) {
	t.Helper()
	a := s.StartAppliance(t, name)
	m, _ := testManager(t)
	o := createOptions(t, s, name, version)
	if change != nil {
		change(&o)
	}
	res, err := m.Create(context.Background(), o)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return o, a, res.ID
}

// readVCH reads the VCH the way the installer sees it.
func readVCH(t *testing.T, s *vchtest.Sim, name string) *VCH {
	t.Helper()
	ctx := context.Background()
	m, _ := testManager(t)
	sess, err := m.connect(ctx, CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Logout(ctx)
	v, err := sess.findVCH(ctx, CommonOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// inventoryState is what a failed validation must leave untouched.
type inventoryState struct {
	vms, pools, files []string
}

func state(t *testing.T, s *vchtest.Sim) inventoryState {
	return inventoryState{vms: sorted(s.VMNames(t)), pools: sorted(s.PoolNames(t)), files: sorted(s.DatastoreEntries(t, ""))}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func (a inventoryState) equal(b inventoryState) bool {
	return slices.Equal(a.vms, b.vms) && slices.Equal(a.pools, b.pools) && slices.Equal(a.files, b.files)
}
