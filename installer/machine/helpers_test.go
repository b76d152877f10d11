package machine

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vcsim"
)

// sim is the product's simulated vCenter (one cluster of three hosts, datastore1, "VM Network" and
// "VCH Bridge"), without the hypervisor emulator: the tests play the appliance themselves.
type sim struct {
	u          *url.URL // the SDK URL with credentials
	thumbprint string
	client     *vim25.Client
	dsDir      string
}

func (s *sim) url() *url.URL { c := *s.u; return &c }

func startSim(t *testing.T) *sim {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	inf, err := vcsim.Start(ctx, vcsim.Options{
		DatastoreDir: filepath.Join(dir, "datastore1"), DisableEmulator: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("start vcsim: %v", err)
	}
	t.Cleanup(inf.Close)
	s := &sim{u: inf.URL(), thumbprint: inf.Thumbprint(), dsDir: inf.DatastoreDir()}
	s.client = s.login(t)
	return s
}

// startESX is govmomi's standalone ESXi simulator (ha-datacenter, one host, LocalDS_0, "VM Network") with a
// "VCH Bridge" port group added.
func startESX(t *testing.T) *sim {
	t.Helper()
	model := simulator.ESX()
	model.Machine = 0
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(model.Remove)
	model.Service.TLS = new(tls.Config)
	srv := model.Service.NewServer()
	t.Cleanup(srv.Close)
	s := &sim{u: srv.URL, thumbprint: soap.ThumbprintSHA256(srv.Certificate())}
	s.client = s.login(t)
	ctx := context.Background()
	f := find.NewFinder(s.client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, err := f.SetDatacenter(dc).DefaultHostSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := host.ConfigManager().NetworkSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.AddPortGroup(ctx, types.HostPortGroupSpec{Name: "VCH Bridge", VswitchName: "vSwitch0", Policy: types.HostNetworkPolicy{}}); err != nil {
		t.Fatal(err)
	}
	// The simulator does not link a new port group's network to the host's compute resource, as ESXi
	// does: record it in the registry.
	sctx := model.Service.Context
	hs := sctx.Map.Get(host.Reference()).(*simulator.HostSystem)
	cr, ok := sctx.Map.Get(*hs.Parent).(*mo.ComputeResource)
	if !ok {
		t.Fatalf("the host's parent is %T", sctx.Map.Get(*hs.Parent))
	}
	dcmo := sctx.Map.Get(dc.Reference()).(*simulator.Datacenter)
	for _, n := range dcmo.Network {
		sctx.Map.AddReference(sctx, cr, &cr.Network, n)
		sctx.Map.AddReference(sctx, hs, &hs.Network, n)
	}
	return s
}

// login is a session of the test's own (the "vSphere client" of an administrator looking at the inventory).
func (s *sim) login(t *testing.T) *vim25.Client {
	t.Helper()
	ctx := context.Background()
	u := s.url()
	sc := soap.NewClient(u, false)
	sc.SetThumbprint(u.Host, s.thumbprint)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(c).Login(ctx, u.User); err != nil {
		t.Fatal(err)
	}
	return c
}

// target is --target with the credentials in it.
func (s *sim) target() string { return s.url().String() }

// isos builds appliance.iso (VERSION, init, two plugins) and bootstrap.iso (VERSION, tether) of a version.
func isos(t *testing.T, version string) (appliance, bootstrap string) {
	t.Helper()
	dir := t.TempDir()
	appliance = filepath.Join(dir, "appliance.iso")
	bootstrap = filepath.Join(dir, "bootstrap.iso")
	buildISO(t, appliance, map[string]string{
		"VERSION": version + "\n", "init": "#!init " + version,
		"plugins/vice-plugin-vsphere": "vsphere plugin " + version, "plugins/vice-plugin-vcsim": "vcsim plugin " + version,
	})
	buildISO(t, bootstrap, map[string]string{"VERSION": version + "\n", "tether": "tether " + version})
	return appliance, bootstrap
}

func buildISO(t *testing.T, out string, files map[string]string) {
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

// testMachine writes its output to a buffer the test can read (and prints it when the test fails).
func testMachine(t *testing.T) (*Machine, *syncBuffer) {
	out := &syncBuffer{}
	m := New(out, true, BuildInfo{Version: "v9.9.9-test"})
	m.PollInterval = 20 * time.Millisecond
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("VICE_MACHINE_TEST_OUTPUT") != "" {
			t.Logf("vice-machine output:\n%s", out.String())
		}
	})
	return m, out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// createOptions is a create of "vch1" on the simulator.
func (s *sim) createOptions(t *testing.T, name, version string) CreateOptions {
	app, boot := isos(t, version)
	return CreateOptions{
		CommonOptions: CommonOptions{Target: s.target(), Thumbprint: s.thumbprint, Name: name, Timeout: 30 * time.Second},
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

// inventory helpers of the tests.

func (s *sim) finder(t *testing.T) *find.Finder {
	f := find.NewFinder(s.client, true)
	dc, err := f.DefaultDatacenter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f.SetDatacenter(dc)
}

// vmNames lists every VM of the inventory.
func (s *sim) vmNames(t *testing.T) []string {
	ctx := context.Background()
	v, err := view.NewManager(s.client).CreateContainerView(ctx, s.client.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name"}, &vms); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, vm := range vms {
		out = append(out, vm.Name)
	}
	return out
}

// poolNames lists every resource pool and vApp below the clusters' root pools.
func (s *sim) poolNames(t *testing.T) []string {
	ctx := context.Background()
	v, err := view.NewManager(s.client).CreateContainerView(ctx, s.client.ServiceContent.RootFolder, []string{"ResourcePool"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	var pools []mo.ResourcePool
	if err := v.Retrieve(ctx, []string{"ResourcePool"}, []string{"name", "parent"}, &pools); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pools {
		if p.Parent != nil && strings.HasSuffix(p.Parent.Type, "ComputeResource") {
			continue // a root pool
		}
		out = append(out, p.Name)
	}
	return out
}

// datastoreEntries lists the top of datastore1 (its local directory).
func (s *sim) datastoreEntries(t *testing.T, sub string) []string {
	entries, err := os.ReadDir(filepath.Join(s.dsDir, sub))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
