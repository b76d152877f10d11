package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/plugins/vsphere/soapconn"
	"github.com/vice-engine/vice/plugins/vsphere/soaptrace"
)

// Config configures Start.
type Config struct {
	// URL is the simulator's SDK endpoint, with the credentials to log in with. Required.
	URL *url.URL
	// Thumbprint pins the server's certificate (SHA-256); empty skips verification, for a local simulator.
	Thumbprint string
	// RunDir holds the emulator's state: a folder per running guest (its tether, root mount point and serial
	// socket, or an appliance's scratch directory) and the files extracted from ISOs. Required; created,
	// and removed by Close. Keep it short: unix socket paths inside it are limited to 107 bytes.
	RunDir string
	// Logger receives one line per guest event; nil means slog.Default().
	Logger *slog.Logger
	// ApplianceNet is where appliance VMs get their addresses; DefaultApplianceNet when zero. It must be
	// an IPv4 loopback prefix, so the addresses work on the host without configuration.
	ApplianceNet netip.Prefix
	// BlockDisks is the block-disk mode: disks are real disk images (a chain of VMDK delta disks, read and
	// written by QEMU's storage daemon), a disk hot-added to a running VM that is not a containerVM becomes a
	// block device on this host, and containerVMs boot from their disk's filesystem instead of an overlay of
	// directories. Appliances are told to write their layers so (vchwire.BlockDisksEnv).
	BlockDisks bool
	// Registry is the simulator's registry when the simulator runs in this process: the emulator then hears
	// of every VM's change within the simulator's call that makes it (registry.go). Nil follows the VMs
	// through a property collector on URL (sdkwatch.go), for a simulator whose registry is not at hand.
	Registry *simulator.Registry
	// Service is the simulator's service when it runs in this process, with Registry its registry: a
	// guest's writes to its VM (guestinfo, the power-off when it halts) then call the simulator's methods
	// in process rather than over URL (inproc.go). Nil makes every call over URL.
	Service *simulator.Service
}

// Emulator boots and stops the guests of the simulator's containerVMs and VCH endpoints. Close stops every
// guest.
type Emulator struct {
	cfg     Config
	log     *slog.Logger
	client  *vim25.Client
	local   *vim25.Client // calls the simulator in process (Config.Service); nil without one
	logout  func()
	ds      *datastores
	tethers *tetherCache
	// appliances are the files of appliance ISOs; addrs the appliance VMs' addresses.
	appliances *applianceCache
	addrs      *addrPool
	net        *netEmu     // the port groups' bridges (net.go)
	blocks     *blockDisks // nil unless Config.BlockDisks

	ctx    context.Context // cancelled by Close: every guest and the following of VMs end with it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	unhook func()  // takes the emulator's handler out of the simulator's registry; nil without one
	hook   *vmHook // the emulator's handler in the simulator's registry; nil without one

	mu     sync.Mutex
	guests map[string]*guest // by the VM's managed object ID

	closeOnce sync.Once
}

// Start logs in to the simulator and follows its VMs until Close. ctx bounds the login only.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	if cfg.URL == nil || cfg.RunDir == "" {
		return nil, errors.New("emulator: the SDK URL and a run directory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if !cfg.ApplianceNet.IsValid() {
		cfg.ApplianceNet = DefaultApplianceNet
	}
	addrs, err := newAddrPool(cfg.ApplianceNet)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	runDir, err := filepath.Abs(cfg.RunDir)
	if err != nil {
		return nil, fmt.Errorf("emulator: run directory: %w", err)
	}
	cfg.RunDir = runDir
	if err := os.MkdirAll(filepath.Join(runDir, tetherCacheDir), 0o700); err != nil {
		return nil, fmt.Errorf("emulator: run directory: %w", err)
	}
	if cfg.Service != nil && cfg.Registry == nil {
		return nil, errors.New("emulator: an in-process simulator's service needs its registry too")
	}
	c, logout, err := login(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var local *vim25.Client
	if cfg.Service != nil {
		if local, err = newLocalClient(ctx, cfg.Service, cfg); err != nil {
			logout()
			return nil, err
		}
	}
	sweepGuestCgroups()
	ectx, cancel := context.WithCancel(context.Background())
	e := &Emulator{
		cfg: cfg, log: cfg.Logger.With("component", "emulator"), client: c, local: local, logout: logout,
		ds:         &datastores{client: c},
		tethers:    &tetherCache{dir: filepath.Join(runDir, tetherCacheDir)},
		appliances: &applianceCache{dir: filepath.Join(runDir, applianceCacheDir)},
		addrs:      addrs,
		net:        newNetEmu(),
		ctx:        ectx, cancel: cancel,
		guests: map[string]*guest{},
	}
	raiseInotifyInstances(e.log)
	if cfg.BlockDisks {
		cleanStaleExports(filepath.Join(runDir, disksDir))
		e.blocks = newBlockDisks(e)
	}
	if cfg.Registry != nil {
		e.followRegistry(cfg.Registry)
	} else {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.watch()
		}()
	}
	e.log.Info("emulator started", "runDir", runDir, "blockDisks", cfg.BlockDisks, "inProcess", cfg.Registry != nil)
	return e, nil
}

// maxIdleConns is how many idle connections to the simulator the emulator keeps.
const maxIdleConns = 64

// login opens a session of its own, so the emulator is one more client of the simulator, like ESXi's
// hostd would be: its reconfigures and power-offs reach every other client's property collectors.
func login(ctx context.Context, cfg Config) (*vim25.Client, func(), error) {
	sc := soap.NewClient(cfg.URL, cfg.Thumbprint == "")
	// Every booting guest reads its VM and writes its status at once (beside the long-polled power watch of
	// sdkwatch.go, when there is one): with Go's default of 2 idle connections, most calls would dial anew,
	// each a TLS handshake (two with a pinned thumbprint, the first failing verification), which costs the
	// simulator more than the call.
	sc.DefaultTransport().MaxIdleConnsPerHost = maxIdleConns
	if cfg.Thumbprint != "" {
		sc.SetThumbprint(cfg.URL.Host, cfg.Thumbprint)
	}
	sc.Client.Transport = soapconn.Drain(sc.Client.Transport)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, nil, fmt.Errorf("emulator: connect to %s: %w", cfg.URL.Redacted(), err)
	}
	c.RoundTripper = soaptrace.Wrap(c.RoundTripper, cfg.Logger.With("component", "emulator"))
	gc := &govmomi.Client{Client: c, SessionManager: session.NewManager(c)}
	if err := gc.Login(ctx, cfg.URL.User); err != nil {
		return nil, nil, fmt.Errorf("emulator: log in to %s: %w", cfg.URL.Redacted(), err)
	}
	logout := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gc.Logout(ctx)
	}
	return c, logout, nil
}

// Close kills every guest, waits for their cleanup and logs out. VMs are left as they are: the simulator
// is going away with the daemon.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() {
		if e.unhook != nil {
			e.unhook()
		}
		e.cancel()
		e.wg.Wait()
		e.net.close()
		if e.blocks != nil {
			e.blocks.close()
		}
		e.addrs.close()
		e.logout()
		if err := os.RemoveAll(e.cfg.RunDir); err != nil {
			e.log.Warn("remove the run directory", "dir", e.cfg.RunDir, "err", err)
		}
		e.log.Info("emulator stopped")
	})
}

// Running reports the IDs of the VMs whose guests are booting or running.
func (e *Emulator) Running() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.guests))
	for id := range e.guests {
		ids = append(ids, id)
	}
	return ids
}
