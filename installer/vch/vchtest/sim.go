package vchtest

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// Sim is a simulated vSphere target and a session of the test's own on it (the "vSphere client" of an
// administrator looking at the inventory).
type Sim struct {
	url *url.URL // the SDK URL with credentials
	// Thumbprint is the SHA-256 thumbprint of the target's certificate.
	Thumbprint string
	Client     *vim25.Client
	// DatastoreDir is the local directory of the first datastore (empty on the ESXi simulator).
	DatastoreDir string
}

// URL is the SDK URL with the credentials.
func (s *Sim) URL() *url.URL { c := *s.url; return &c }

// Target is the URL as --target takes it.
func (s *Sim) Target() string { return s.URL().String() }

// Password is the simulated vCenter's password: odd enough that a test finds it wherever it leaks.
const Password = "vchtest-Pa55/w0rd:sealed"

// StartVC starts the product's simulated vCenter (one cluster of three hosts, datastore1, "VM Network" and
// "VCH Bridge") without the hypervisor emulator: the tests play the appliance themselves.
func StartVC(t *testing.T) *Sim {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	inf, err := vcsim.Start(ctx, vcsim.Options{
		DatastoreDir: filepath.Join(dir, "datastore1"), DisableEmulator: true, Password: Password,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("start vcsim: %v", err)
	}
	t.Cleanup(inf.Close)
	s := &Sim{url: inf.URL(), Thumbprint: inf.Thumbprint(), DatastoreDir: inf.DatastoreDir()}
	s.Client = s.Login(t)
	return s
}

// StartESX starts govmomi's standalone ESXi simulator (ha-datacenter, one host, LocalDS_0, "VM Network")
// with a "VCH Bridge" port group added.
func StartESX(t *testing.T) *Sim {
	t.Helper()
	model := simulator.ESX()
	model.Machine = 0
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(model.Remove)
	// ESXi keeps guestinfo.ovfEnv out of the API, as the product's simulator does.
	vcsim.EmulateOVFEnv(model.Service.Context.Map, slog.New(slog.DiscardHandler))
	model.Service.TLS = new(tls.Config)
	srv := model.Service.NewServer()
	t.Cleanup(srv.Close)
	s := &Sim{url: srv.URL, Thumbprint: soap.ThumbprintSHA256(srv.Certificate())}
	s.Client = s.Login(t)
	ctx := context.Background()
	f := find.NewFinder(s.Client, true)
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

// Login is a new session on the target.
func (s *Sim) Login(t *testing.T) *vim25.Client {
	t.Helper()
	ctx := context.Background()
	u := s.URL()
	sc := soap.NewClient(u, false)
	sc.SetThumbprint(u.Host, s.Thumbprint)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(c).Login(ctx, u.User); err != nil {
		t.Fatal(err)
	}
	return c
}

// Finder is a finder on the default datacenter.
func (s *Sim) Finder(t *testing.T) *find.Finder {
	f := find.NewFinder(s.Client, true)
	dc, err := f.DefaultDatacenter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f.SetDatacenter(dc)
}

// VMNames lists every VM of the inventory.
func (s *Sim) VMNames(t *testing.T) []string {
	ctx := context.Background()
	v, err := view.NewManager(s.Client).CreateContainerView(ctx, s.Client.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
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

// PoolNames lists every resource pool and vApp below the clusters' root pools.
func (s *Sim) PoolNames(t *testing.T) []string {
	ctx := context.Background()
	v, err := view.NewManager(s.Client).CreateContainerView(ctx, s.Client.ServiceContent.RootFolder, []string{"ResourcePool"}, true)
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

// DatastoreEntries lists a folder of the first datastore (its local directory), nil when it does not exist.
func (s *Sim) DatastoreEntries(t *testing.T, sub string) []string {
	entries, err := os.ReadDir(filepath.Join(s.DatastoreDir, sub))
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
