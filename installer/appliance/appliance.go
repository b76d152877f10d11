package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Options is the machine Run works on.
type Options struct {
	// GuestInfo reads the config and writes the status. Required.
	GuestInfo GuestInfo
	// Root holds appliance.iso's files (/VERSION, bin/vice-engine, the plugins). Required.
	Root string
	// State is a scratch directory for this boot: certificates, plugin manifests, sockets, logs. Required.
	State string
	// Address is the appliance's IP address, waited for as long as ctx allows. Required.
	Address func(ctx context.Context) (string, error)
	// Logger receives the init's own log; Level, when set, is raised to debug by a config with Debug.
	Logger *slog.Logger
	Level  *slog.LevelVar
	// Procs starts and reaps processes; a Procs that waits for its own children only when nil.
	Procs *Procs
	// PortalLogin checks the user name and password of an admin portal login: nil logs in to the config's
	// vSphere target (vsphereLogin). It returns errNotVSphereUser for refused credentials.
	PortalLogin func(ctx context.Context, user, password string) error

	// Ports; wire's when zero (the Docker port by TLS mode: 2376, or 2375 when off).
	DockerPort, AdminPort, SSHPort int
	// Poll intervals: the config while it is missing or invalid (2 s), the certificates while waiting for
	// them (500 ms) and for their replacement afterwards (5 s), the debug settings (2 s).
	ConfigPoll, TLSPoll, CertPoll, DebugPoll time.Duration
	// StopTimeout is how long vice-engine has to stop on SIGTERM before it is killed (10 s).
	StopTimeout time.Duration
	// LogSize bounds each log file of the state directory (DefaultLogSize).
	LogSize int64
}

func (o *Options) defaults() error {
	if o.GuestInfo == nil || o.Root == "" || o.State == "" || o.Address == nil {
		return errors.New("appliance: guestinfo, the root and state directories and the address are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Procs == nil {
		o.Procs = NewProcs(o.Logger, false)
	}
	if o.AdminPort == 0 {
		o.AdminPort = vchwire.PortAdmin
	}
	if o.SSHPort == 0 {
		o.SSHPort = vchwire.PortSSH
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&o.ConfigPoll, 2 * time.Second}, {&o.TLSPoll, 500 * time.Millisecond}, {&o.CertPoll, 5 * time.Second},
		{&o.DebugPoll, 2 * time.Second}, {&o.StopTimeout, 10 * time.Second},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	return nil
}

// appliance is one boot of the endpoint.
type appliance struct {
	o       Options
	log     *slog.Logger
	status  *reporter
	secrets *secrets
}

// Run serves the VCH until ctx ends, then stops what it started. It returns an error only when it could
// not start at all (bad options, ctx ended while waiting for the config); problems of the VCH are
// reported in its status, where the installer looks.
func Run(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	a := &appliance{o: o, log: o.Logger, status: newReporter(o.GuestInfo, o.Logger), secrets: &secrets{gi: o.GuestInfo}}
	a.status.redact = a.secrets.redact
	return a.run(ctx)
}

func (a *appliance) run(ctx context.Context) error {
	version := readVersion(a.o.Root)
	a.log.Info("appliance booting", "version", version)
	a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State, s.Version = vchwire.ApplianceBooting, version })
	logDir := filepath.Join(a.o.State, LogDir)
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return a.fail(ctx, fmt.Errorf("state directory: %w", err))
	}

	cfg, target, err := a.waitConfig(ctx)
	if err != nil {
		return err
	}
	if cfg.Debug && a.o.Level != nil {
		a.o.Level.Set(slog.LevelDebug)
	}
	a.log.Info("config", "vch", cfg.Name, "tls", cfg.TLS, "backend", cfg.Backend, "plugins", len(cfg.Plugins),
		"configVersion", cfg.Version)
	if cfg.Version != "" && cfg.Version != version {
		a.log.Warn("the config was written for another appliance version", "config", cfg.Version, "iso", version)
	}

	ip, err := a.o.Address(ctx)
	if err != nil {
		return a.fail(ctx, fmt.Errorf("the appliance's address: %w", err))
	}
	ep := endpoints{ip: ip, dockerPort: a.o.DockerPort, adminPort: a.o.AdminPort, sshPort: a.o.SSHPort}
	if ep.dockerPort == 0 {
		ep.dockerPort = vchwire.PortDockerTLS
		if cfg.TLS == vchwire.TLSOff {
			ep.dockerPort = vchwire.PortDockerPlain
		}
	}
	a.log.Info("address", "ip", ip)
	a.status.Update(ctx, func(s *vchwire.ApplianceStatus) {
		s.IP, s.DockerHost, s.AdminPortal = ip, ep.DockerHost(), ep.AdminPortal()
	})

	ms, err := Manifests(cfg, target, a.o.Root, ep.attach())
	if err == nil {
		err = writeManifests(filepath.Join(a.o.State, PluginsDir), ms)
	}
	if err != nil {
		return a.fail(ctx, fmt.Errorf("register the plugins: %w", err))
	}

	serverCerts := &serverTLS{}
	var certs *material
	if cfg.TLS == vchwire.TLSOff {
		cert, err := selfSigned(ip)
		if err != nil {
			return a.fail(ctx, fmt.Errorf("admin portal certificate: %w", err))
		}
		serverCerts.set(cert, nil)
	} else {
		a.log.Info("waiting for certificates")
		a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State, s.Error = vchwire.ApplianceWaitingTLS, "" })
		if certs, err = a.waitTLS(ctx, cfg.TLS); err != nil {
			return err
		}
		if err := a.installTLS(certs, ip, serverCerts); err != nil {
			return a.fail(ctx, err)
		}
	}
	a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State, s.Error = vchwire.ApplianceStarting, "" })

	engineLog, err := OpenLogFile(filepath.Join(logDir, EngineLogName), a.o.LogSize)
	if err != nil {
		return a.fail(ctx, err)
	}
	defer engineLog.Close()
	sessionEnv := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/",
		"DOCKER_HOST=unix://" + filepath.Join(a.o.State, EngineSocket), vchwire.ApplianceStateEnv + "=" + a.o.State,
		vchwire.ApplianceRootEnv + "=" + a.o.Root}
	ssh, err := newSSHD(a.log.With("service", ServiceSSH), a.o.Procs, sessionEnv)
	if err != nil {
		return a.fail(ctx, err)
	}

	if err := writeRegistryCAs(cfg, a.o.State); err != nil {
		return a.fail(ctx, fmt.Errorf("registry CAs: %w", err))
	}
	var wg sync.WaitGroup
	login := a.o.PortalLogin
	if login == nil {
		login = vsphereLogin(target, cfg.Thumbprint)
	}
	auth := newPortalAuth(login, a.log.With("service", ServicePortal))
	wg.Go(func() { a.runPortal(ctx, serverCerts, auth, ep.admin(), logDir) })
	restart := make(chan struct{}, 1)
	eng := &engine{path: filepath.Join(a.o.Root, EnginePath), args: EngineArgs(cfg, ep.DockerHost(), a.o.State),
		dir: a.o.State, log: engineLog, tail: &tail{max: engineTailSize}}
	wg.Go(func() { a.superviseEngine(ctx, eng, restart) })
	if certs != nil {
		wg.Go(func() { a.watchTLS(ctx, cfg.TLS, ip, certs, serverCerts, restart) })
	}
	wg.Go(func() { a.debugLoop(ctx, ssh, ep.ssh()) })
	wg.Wait()

	a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State = vchwire.ApplianceStopped })
	a.log.Info("appliance stopped")
	return nil
}

// fail reports err and waits for the end: the VM stays up, its status saying why it serves nothing.
func (a *appliance) fail(ctx context.Context, err error) error {
	a.log.Error("appliance failed", "err", err)
	a.setFailed(ctx, err.Error())
	<-ctx.Done()
	return err
}

func (a *appliance) setFailed(ctx context.Context, msg string) {
	a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State, s.Error = vchwire.ApplianceFailed, msg })
}

// setError keeps the state and says what is wrong.
func (a *appliance) setError(ctx context.Context, msg string) {
	a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.Error = msg })
}

// waitConfig polls the config until there is a valid one, and returns it with the target it opened (the SDK
// URL with the password). A missing config leaves the appliance booting, an invalid one (or one whose
// secrets do not open) failed, each with the reason, until the installer writes a good one.
func (a *appliance) waitConfig(ctx context.Context) (*vchwire.ApplianceConfig, string, error) {
	t := time.NewTicker(a.o.ConfigPoll)
	defer t.Stop()
	var seen, failed string
	for {
		raw, _, err := a.o.GuestInfo.Get(ctx, vchwire.KeyAppliance)
		if err == nil && (raw != seen || failed == "") {
			seen = raw
			var cfg *vchwire.ApplianceConfig
			cfg, err = parseConfig(raw, a.o.Root)
			if err == nil {
				err = verifyPlugins(cfg, a.o.Root)
			}
			var target string
			if err == nil {
				target, err = a.secrets.target(ctx, cfg)
			}
			if err == nil {
				return cfg, target, nil
			}
			if err.Error() != failed {
				a.log.Warn("waiting for a valid config", "err", err)
			}
			failed = err.Error()
			if errors.Is(err, errNoConfig) {
				a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State, s.Error = vchwire.ApplianceBooting, failed })
			} else {
				a.setFailed(ctx, failed)
			}
		} else if err != nil {
			a.log.Debug("read the config", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-t.C:
		}
	}
}

// installTLS writes the certificate files and gives the portal its certificate.
func (a *appliance) installTLS(m *material, ip string, server *serverTLS) error {
	if !m.covers(ip) {
		a.log.Warn("the server certificate does not name the appliance's address", "ip", ip)
	}
	if err := writeTLS(a.o.State, m); err != nil {
		return fmt.Errorf("write the certificates: %w", err)
	}
	server.set(m.cert, m.cas)
	return nil
}

// watchTLS picks up replaced certificates: the files are rewritten, the portal serves the new ones at
// once and vice-engine is restarted to load them.
func (a *appliance) watchTLS(ctx context.Context, mode, ip string, cur *material, server *serverTLS, restart chan<- struct{}) {
	t := time.NewTicker(a.o.CertPoll)
	defer t.Stop()
	bad := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, found, err := a.o.GuestInfo.Get(ctx, vchwire.KeyApplianceTLS)
		if err != nil || !found || v == "" || v == cur.raw || v == bad {
			continue
		}
		m, err := parseTLS(ctx, v, mode, a.secrets)
		if err == nil {
			err = a.installTLS(m, ip, server)
		}
		if err != nil {
			bad = v
			a.log.Warn("new certificates not installed", "err", err)
			continue
		}
		cur, bad = m, ""
		a.log.Info("certificates replaced")
		select {
		case restart <- struct{}{}:
		default:
		}
	}
}

// runPortal serves the admin portal until ctx ends, reporting it as a service.
func (a *appliance) runPortal(ctx context.Context, certs *serverTLS, auth *portalAuth, addr, logDir string) {
	p := &portal{status: a.status, logDir: logDir, tls: certs, auth: auth, log: a.log.With("service", ServicePortal), started: time.Now()}
	backoff := minRestart
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			a.log.Debug("admin portal listening", "addr", addr)
			a.status.Service(ctx, vchwire.ServiceStatus{Name: ServicePortal, State: ServiceRunning})
			err = p.serve(ctx, l)
		}
		if ctx.Err() != nil {
			a.status.Service(ctx, vchwire.ServiceStatus{Name: ServicePortal, State: ServiceStopped})
			return
		}
		a.log.Warn("admin portal", "err", err)
		a.status.Service(ctx, vchwire.ServiceStatus{Name: ServicePortal, State: ServiceFailed, Error: err.Error()})
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRestart)
	}
}

// readVersion is the ISO's /VERSION.
func readVersion(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
