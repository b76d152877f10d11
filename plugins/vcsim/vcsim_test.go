package vcsim

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func start(t *testing.T, dir string) *Infrastructure {
	t.Helper()
	inf, err := Start(context.Background(), Options{DatastoreDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inf.Close)
	return inf
}

func TestStartServesTheInventory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	inf := start(t, dir)

	u := inf.URL()
	if u.Scheme != "https" || u.User == nil || inf.Thumbprint() == "" {
		t.Fatalf("url %s thumbprint %q", u.Redacted(), inf.Thumbprint())
	}
	// Connect as a real client would: verifying the server by its thumbprint rather than skipping checks.
	sc := soap.NewClient(u, false)
	sc.SetThumbprint(u.Host, inf.Thumbprint())
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	if err := c.Login(ctx, u.User); err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)

	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	crs, err := f.ComputeResourceList(ctx, "*")
	if err != nil || len(crs) != 1 {
		t.Fatalf("compute resources %v, %v: want exactly one cluster", crs, err)
	}
	hosts, err := crs[0].Hosts(ctx)
	if err != nil || len(hosts) < 2 {
		t.Fatalf("cluster hosts %d, %v", len(hosts), err)
	}

	ds, err := f.Datastore(ctx, DatastoreName)
	if err != nil {
		t.Fatal(err)
	}
	var dsmo mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"summary", "host"}, &dsmo); err != nil {
		t.Fatal(err)
	}
	if dsmo.Summary.Url != dir || len(dsmo.Host) != len(hosts) {
		t.Fatalf("datastore url %q on %d hosts, want %q on %d", dsmo.Summary.Url, len(dsmo.Host), dir, len(hosts))
	}

	// A file uploaded through the datastore HTTP API lands in the directory.
	content := []byte("hello from the datastore")
	if err := ds.Upload(ctx, bytes.NewReader(content), "vch/probe.txt", &soap.Upload{
		Method: "PUT", Type: "application/octet-stream", ContentLength: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "vch", "probe.txt"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("file on disk: %q, %v", got, err)
	}

	// Both networks are networks of the datacenter, reachable from every host.
	var dcmo mo.Datacenter
	if err := dc.Properties(ctx, dc.Reference(), []string{"network"}, &dcmo); err != nil {
		t.Fatal(err)
	}
	var nets []mo.Network
	if err := property.DefaultCollector(c.Client).Retrieve(ctx, dcmo.Network, []string{"name", "host"}, &nets); err != nil {
		t.Fatal(err)
	}
	byName := map[string]mo.Network{}
	for _, n := range nets {
		byName[n.Name] = n
	}
	for _, name := range []string{VMNetwork, BridgeNetwork} {
		n, ok := byName[name]
		if !ok {
			t.Fatalf("network %q missing; have %v", name, keys(byName))
		}
		if len(n.Host) != len(hosts) {
			t.Errorf("network %q on %d hosts, want %d", name, len(n.Host), len(hosts))
		}
		if _, err := f.Network(ctx, name); err != nil {
			t.Errorf("finder: %v", err)
		}
	}
	for _, h := range hosts {
		ns, err := h.ConfigManager().NetworkSystem(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var nsmo mo.HostNetworkSystem
		if err := ns.Properties(ctx, ns.Reference(), []string{"networkInfo"}, &nsmo); err != nil {
			t.Fatal(err)
		}
		if !hasGroup(nsmo.NetworkInfo.Portgroup, BridgeNetwork) {
			t.Errorf("host %s has no %q port group", h.Name(), BridgeNetwork)
		}
	}
	checkConfigTarget(t, ctx, crs[0])
}

func checkConfigTarget(t *testing.T, ctx context.Context, cr *object.ComputeResource) {
	t.Helper()
	eb, err := cr.EnvironmentBrowser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target, err := eb.QueryConfigTarget(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range target.Network {
		names = append(names, n.Name)
	}
	if !strings.Contains(strings.Join(names, ","), BridgeNetwork) {
		t.Errorf("config target networks %v lack %q", names, BridgeNetwork)
	}
}

func hasGroup(groups []types.HostPortGroup, name string) bool {
	for _, g := range groups {
		if g.Spec.Name == name {
			return true
		}
	}
	return false
}

func keys(m map[string]mo.Network) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCloseKeepsTheDatastoreDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "datastore1") // created by Start
	inf := start(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "keep.me"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	inf.Close()
	inf.Close() // idempotent
	if _, err := os.Stat(filepath.Join(dir, "keep.me")); err != nil {
		t.Fatalf("datastore file gone after Close: %v", err)
	}

	// A new simulator on the same directory sees the files of the previous one.
	inf2 := start(t, dir)
	c, err := govmomi.NewClient(context.Background(), inf2.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := find.NewFinder(c.Client, true).Datastore(context.Background(), "/DC0/datastore/"+DatastoreName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Stat(context.Background(), "keep.me"); err != nil {
		t.Fatalf("stat keep.me on the restarted simulator: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Fatal("Start without a datastore directory succeeded")
	}
	inf := start(t, t.TempDir())
	// Its address is taken: a second server there must fail cleanly, not panic.
	_, err := Start(context.Background(), Options{DatastoreDir: t.TempDir(), Listen: inf.URL().Host,
		Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("Start on a busy address succeeded")
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	inf := start(t, t.TempDir())
	u := inf.URL()
	u.User = url.UserPassword(DefaultUser, "wrong")
	if _, err := govmomi.NewClient(context.Background(), u, true); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
}
