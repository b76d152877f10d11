package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// managed is one plugin and its current process.
type managed struct {
	m    *Manifest
	opts *Options
	log  *slog.Logger

	mu       sync.Mutex
	client   *plugin.Client
	sockDir  string // the directory of the current process's socket, removed once the process is gone
	proto    plugin.ClientProtocol
	rt       http.RoundTripper
	pid      int
	restarts int
	ready    chan struct{} // closed while a process serves; replaced when it goes away
	stopped  bool          // the host stopped the plugin for good
}

func newManaged(m *Manifest, opts *Options) *managed {
	return &managed{m: m, opts: opts, log: opts.Logger.With("plugin", m.Name), ready: make(chan struct{})}
}

// launch starts a process and makes it current.
func (p *managed) launch(ctx context.Context) error {
	sum, _ := hex.DecodeString(p.m.SHA256)
	// The plugin's socket goes in a directory of its own, removed once the process is gone: a plugin that
	// crashed or was killed cannot remove its socket itself.
	sockDir, err := os.MkdirTemp("", "vice-plugin-")
	if err != nil {
		return fmt.Errorf("plugin %s: a directory for its socket: %w", p.m.Name, errdefs.Classed(err, errdefs.ErrSystem))
	}
	cmd := exec.Command(p.m.Path, p.m.Args...)
	cmd.Env = append(append(os.Environ(), p.m.Env...), plugin.EnvUnixSocketDir+"="+sockDir)
	setPdeathsig(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  transport.Handshake,
		VersionedPlugins: transport.PluginSets(nil),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  transport.DialOptions(),
		StartTimeout:     p.opts.StartTimeout,
		Logger:           newHCLog(p.opts.Logger, p.m.Name),
	})
	proto, err := client.Client()
	if err != nil {
		client.Kill()
		_ = os.RemoveAll(sockDir)
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return fmt.Errorf("plugin %s: %s does not match the checksum in its manifest: %w", p.m.Name, p.m.Path, errdefs.ErrForbidden)
		}
		return fmt.Errorf("plugin %s: start %s: %v: %w", p.m.Name, p.m.Path, err, errdefs.ErrUnavailable)
	}
	raw, err := proto.Dispense(transport.PluginName)
	if err != nil {
		client.Kill()
		_ = os.RemoveAll(sockDir)
		return fmt.Errorf("plugin %s: %v: %w", p.m.Name, err, errdefs.ErrUnavailable)
	}
	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	p.mu.Lock()
	p.client, p.proto, p.rt, p.pid, p.sockDir = client, proto, raw.(http.RoundTripper), pid, sockDir
	close(p.ready)
	p.mu.Unlock()
	p.log.Debug("plugin started", "pid", pid, "path", p.m.Path)
	return nil
}

// supervise watches the current process and replaces it when it exits or stops answering health checks.
func (p *managed) supervise(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		reason := p.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		p.retire()
		if time.Since(started) > 30*time.Second {
			backoff = 100 * time.Millisecond
		}
		p.log.Warn("plugin stopped; restarting", "reason", reason, "backoff", backoff)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, p.opts.MaxBackoff)
			if err := p.launch(ctx); err != nil {
				p.log.Error("plugin restart failed", "err", err, "next_backoff", backoff)
				continue
			}
			p.mu.Lock()
			p.restarts++
			n, pid := p.restarts, p.pid
			p.mu.Unlock()
			p.log.Info("plugin restarted", "pid", pid, "restarts", n)
			break
		}
	}
}

// watch returns why the current process is no longer usable, or "" when ctx ends.
func (p *managed) watch(ctx context.Context) string {
	p.mu.Lock()
	client, proto := p.client, p.proto
	p.mu.Unlock()
	exitPoll := time.NewTicker(200 * time.Millisecond)
	defer exitPoll.Stop()
	health := time.NewTicker(p.opts.HealthInterval)
	defer health.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-exitPoll.C:
			if client.Exited() {
				return "process exited"
			}
		case <-health.C:
			if err := proto.Ping(); err != nil {
				failures++
				p.log.Warn("plugin health check failed", "err", err, "failures", failures)
				if failures >= 3 {
					return "health checks failed"
				}
				continue
			}
			failures = 0
		}
	}
}

// retire drops the current process so that new requests wait for its successor.
func (p *managed) retire() {
	p.mu.Lock()
	client, sockDir := p.client, p.sockDir
	p.client, p.proto, p.rt, p.pid, p.sockDir = nil, nil, nil, 0, ""
	p.ready = make(chan struct{})
	p.mu.Unlock()
	if client != nil {
		client.Kill()
	}
	removeSockDir(sockDir)
}

// removeSockDir removes a stopped process's socket directory.
func removeSockDir(dir string) {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

func (p *managed) kill() {
	p.mu.Lock()
	client, sockDir := p.client, p.sockDir
	p.client, p.proto, p.rt, p.pid, p.sockDir = nil, nil, nil, 0, ""
	p.stopped = true
	select {
	case <-p.ready:
	default:
		close(p.ready) // wakes waiting requests, which then see stopped
	}
	p.mu.Unlock()
	if client != nil {
		client.Kill()
		p.log.Debug("plugin stopped")
	}
	removeSockDir(sockDir)
}

// current returns the serving RoundTripper, waiting for a restart to finish while ctx allows.
func (p *managed) current(ctx context.Context) (http.RoundTripper, error) {
	for {
		p.mu.Lock()
		rt, ready, stopped := p.rt, p.ready, p.stopped
		p.mu.Unlock()
		if stopped {
			return nil, fmt.Errorf("backend plugin %s is stopped: %w", p.m.Name, errdefs.ErrUnavailable)
		}
		if rt != nil {
			return rt, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("backend plugin %s is restarting: %w", p.m.Name, errdefs.ErrUnavailable)
		}
	}
}

func (p *managed) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Status{
		Name:       p.m.Name,
		Path:       p.m.Path,
		APIVersion: p.m.APIVersion,
		Running:    p.client != nil && !p.client.Exited(),
		PID:        p.pid,
		Restarts:   p.restarts,
	}
}
