package vcsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/plugins/vcsim/emulator"
)

// The simulated inventory's names.
const (
	DatastoreName  = "datastore1"
	VMNetwork      = "VM Network"
	BridgeNetwork  = "VCH Bridge"
	DefaultListen  = "127.0.0.1:0"
	DefaultUser    = "user"
	DefaultPass    = "pass"
	clusterHosts   = 3
	defaultVSwitch = "vSwitch0"
)

// Options configures Start.
type Options struct {
	// Listen is the HTTPS address to serve on; DefaultListen when empty.
	Listen string
	// DatastoreDir holds the files of datastore1. Required. Created when missing, never removed.
	DatastoreDir string
	// Username and Password are the only credentials the simulator accepts; DefaultUser and DefaultPass
	// when empty.
	Username, Password string
	// Logger receives the infrastructure's logs; nil means slog.Default().
	Logger *slog.Logger
	// DisableEmulator leaves the hypervisor emulator off: containerVMs then power on and off without a
	// guest, as in plain vcsim. For tests that need only the inventory (booting guests needs root).
	DisableEmulator bool
	// RunDir holds the emulator's per-guest state; a new temporary directory when empty. Removed by Close.
	RunDir string
	// BlockDisks runs the emulator in block-disk mode (emulator.Config.BlockDisks): real disk images, hot-added
	// to running VMs as block devices, and containerVMs booting from their disk's filesystem.
	BlockDisks bool
}

// Infrastructure is a running simulated vCenter.
type Infrastructure struct {
	model    *simulator.Model
	server   *simulator.Server
	emulator *emulator.Emulator // nil when disabled
	log      *slog.Logger
	dir      string
	// stopSpace ends the following of datastore1's space (dsspace.go); spaceDone is closed once it has.
	stopSpace context.CancelFunc
	spaceDone chan struct{}

	closeOnce sync.Once
}

// Start builds the simulated vCenter and serves it on opts.Listen until Close. ctx bounds the setup only.
func Start(ctx context.Context, opts Options) (_ *Infrastructure, err error) {
	if opts.DatastoreDir == "" {
		return nil, errors.New("vcsim: a datastore directory is required")
	}
	dir, err := filepath.Abs(opts.DatastoreDir)
	if err != nil {
		return nil, fmt.Errorf("vcsim: datastore directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vcsim: datastore directory: %w", err)
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Username == "" {
		opts.Username = DefaultUser
	}
	if opts.Password == "" {
		opts.Password = DefaultPass
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}

	m := simulator.VPX()
	m.Host = 0 // no standalone host: the cluster is the only compute resource
	m.ClusterHost = clusterHosts
	m.Datastore = 0 // datastore1 is made below, on DatastoreDir instead of a temporary directory
	m.Machine = 0
	m.Portgroup = 0 // standard port groups only, made below
	if err := m.Create(); err != nil {
		m.Remove()
		return nil, fmt.Errorf("vcsim: build the inventory: %w", err)
	}
	defer func() {
		if err != nil {
			m.Remove()
		}
	}()

	EmulateOVFEnv(m.Service.Context.Map, log)

	// Setup talks to the service in process, before anything listens, so no client sees it half built.
	c, err := vim25.NewClient(ctx, m.Service)
	if err != nil {
		return nil, fmt.Errorf("vcsim: in-process client: %w", err)
	}
	f := find.NewFinder(c, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		return nil, fmt.Errorf("vcsim: find the datacenter: %w", err)
	}
	hosts, err := f.SetDatacenter(dc).HostSystemList(ctx, "*")
	if err != nil {
		return nil, fmt.Errorf("vcsim: list hosts: %w", err)
	}
	if err := addDatastore(ctx, hosts, dir); err != nil {
		return nil, err
	}
	spaceCtx, stopSpace := context.WithCancel(context.Background())
	spaceDone := make(chan struct{})
	go func() {
		defer close(spaceDone)
		followDatastoreSpace(spaceCtx, m.Service.Context, dir)
	}()
	defer func() {
		if err != nil {
			stopSpace()
			<-spaceDone
		}
	}()
	if err := addPortGroups(ctx, m.Service.Context, hosts, VMNetwork, BridgeNetwork); err != nil {
		return nil, err
	}

	server, err := serve(m, opts)
	if err != nil {
		return nil, err
	}
	inf := &Infrastructure{model: m, server: server, log: log, dir: dir, stopSpace: stopSpace, spaceDone: spaceDone}
	if !opts.DisableEmulator {
		if inf.emulator, err = startEmulator(ctx, inf, opts); err != nil {
			server.Close()
			return nil, err
		}
		m.Service.Context.Map.AddHandler(&guestHook{e: inf.emulator})
	}
	log.Info("vcsim serving", "url", redacted(server.URL), "datastoreDir", dir, "hosts", len(hosts),
		"emulator", inf.emulator != nil)
	return inf, nil
}

// startEmulator runs the hypervisor emulator as one more client of the server, so its power-offs and
// guestinfo writes reach every client's property collectors as they would from ESXi; it hears of the VMs'
// changes in process, from the simulator's registry, as ESXi knows of its own VMs, and makes its guests'
// writes by calling the simulator's methods in process.
func startEmulator(ctx context.Context, inf *Infrastructure, opts Options) (*emulator.Emulator, error) {
	runDir := opts.RunDir
	if runDir == "" {
		d, err := os.MkdirTemp("", "vice-emu-") // short: guests' unix sockets live below it
		if err != nil {
			return nil, fmt.Errorf("vcsim: emulator run directory: %w", err)
		}
		runDir = d
	}
	e, err := emulator.Start(ctx, emulator.Config{
		URL: inf.URL(), Thumbprint: inf.Thumbprint(), RunDir: runDir, Logger: inf.log, BlockDisks: opts.BlockDisks,
		Registry: inf.model.Service.Context.Map, Service: inf.model.Service,
	})
	if err != nil {
		if opts.RunDir == "" {
			os.RemoveAll(runDir)
		}
		return nil, fmt.Errorf("vcsim: %w", err)
	}
	return e, nil
}

// addDatastore mounts dir on every host as datastore1, the way an NFS export shared by a cluster would be.
func addDatastore(ctx context.Context, hosts []*object.HostSystem, dir string) error {
	for _, h := range hosts {
		dss, err := h.ConfigManager().DatastoreSystem(ctx)
		if err != nil {
			return fmt.Errorf("vcsim: datastore system of %s: %w", h.Name(), err)
		}
		if _, err := dss.CreateLocalDatastore(ctx, DatastoreName, dir); err != nil {
			return fmt.Errorf("vcsim: mount %s on %s: %w", DatastoreName, h.Name(), err)
		}
	}
	return nil
}

// serve starts HTTPS on opts.Listen. The simulator panics when it cannot listen, so the address is tried
// first to turn that into an error.
func serve(m *simulator.Model, opts Options) (s *simulator.Server, err error) {
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("vcsim: listen: %w", err)
	}
	_ = l.Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("vcsim: serve on %s: %v", opts.Listen, p)
		}
	}()
	m.Service.TLS = new(tls.Config)
	// POST /sdk is more specific than the simulator's own /sdk route, which it then reaches through the shim.
	m.Service.ServeMux = http.NewServeMux()
	m.Service.ServeMux.Handle("POST "+m.Service.Context.Map.Path, &vAppUpdateConfig{svc: m.Service})
	// GET /folder/ is more specific than the simulator's /folder/, which serves every other method.
	m.Service.ServeMux.Handle("GET /folder/", &datastoreFiles{svc: m.Service, next: http.HandlerFunc(m.Service.ServeDatastore)})
	m.Service.Listen = &url.URL{Host: opts.Listen, User: url.UserPassword(opts.Username, opts.Password)}
	return m.Service.NewServer(), nil
}

// URL is the SDK endpoint with the credentials the simulator accepts.
func (i *Infrastructure) URL() *url.URL {
	u := *i.server.URL
	return &u
}

// Thumbprint is the SHA-256 thumbprint of the server's certificate, for clients that pin it.
func (i *Infrastructure) Thumbprint() string {
	return soap.ThumbprintSHA256(i.server.Certificate())
}

// Emulator is the hypervisor emulator, nil when Options.DisableEmulator was set.
func (i *Infrastructure) Emulator() *emulator.Emulator { return i.emulator }

// DatastoreDir is the directory holding datastore1's files.
func (i *Infrastructure) DatastoreDir() string { return i.dir }

// Close stops every guest, then the server, and removes the simulator's temporary state. The datastore
// directory stays.
func (i *Infrastructure) Close() {
	i.closeOnce.Do(func() {
		if i.emulator != nil {
			i.emulator.Close() // first: its guests are stopped while the server still answers
		}
		i.server.Close()
		i.stopSpace()
		<-i.spaceDone
		i.model.Remove() // removes only the model's own temporary directory, never DatastoreDir
		i.log.Info("vcsim stopped")
	})
}

// redacted is u without its password, for logs.
func redacted(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}
