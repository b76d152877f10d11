package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Options configure a Host.
type Options struct {
	// Dir is the registry directory of plugin manifests.
	Dir string
	// Logger receives the host's and the plugins' log lines.
	Logger *slog.Logger
	// HealthInterval is how often a running plugin is health-checked (default 2s).
	HealthInterval time.Duration
	// StartTimeout bounds one plugin start (default 30s).
	StartTimeout time.Duration
	// MaxBackoff caps the wait between restarts of a plugin that keeps crashing (default 10s).
	MaxBackoff time.Duration
}

// Status describes one registered plugin.
type Status struct {
	Name       string
	Path       string
	APIVersion int
	Running    bool
	PID        int
	Restarts   int
}

// Host runs the registered plugins.
type Host struct {
	opts    Options
	log     *slog.Logger
	plugins map[string]*managed
	names   []string

	stopOnce sync.Once
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New reads the registry; it starts nothing.
func New(opts Options) (*Host, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 2 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	manifests, err := ReadManifests(opts.Dir)
	if err != nil {
		return nil, err
	}
	h := &Host{opts: opts, log: opts.Logger, plugins: map[string]*managed{}}
	for _, m := range manifests {
		h.plugins[m.Name] = newManaged(m, &h.opts)
		h.names = append(h.names, m.Name)
	}
	sort.Strings(h.names)
	return h, nil
}

// Start launches every plugin and supervises it until Stop. It fails when a plugin cannot be started at
// all (a wrong checksum, a binary that is not a vice plugin); later crashes are restarted.
func (h *Host) Start(ctx context.Context) error {
	sctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	var errs []error
	for _, name := range h.names {
		p := h.plugins[name]
		if err := p.launch(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			p.supervise(sctx)
		}()
	}
	if err := errors.Join(errs...); err != nil {
		h.Stop()
		return err
	}
	return nil
}

// Names lists the registered plugins, sorted.
func (h *Host) Names() []string { return append([]string(nil), h.names...) }

// Transport is the RoundTripper to a plugin's port layer. It stays valid across restarts: a request made
// while the plugin restarts waits for it (bounded by the request's context).
func (h *Host) Transport(name string) (http.RoundTripper, error) {
	p, ok := h.plugins[name]
	if !ok {
		return nil, fmt.Errorf("backend plugin %q is not registered (registered: %v): %w", name, h.names, errdefs.ErrNotFound)
	}
	return &hostTransport{p: p}, nil
}

// Status reports every plugin, sorted by name.
func (h *Host) Status() []Status {
	out := make([]Status, 0, len(h.names))
	for _, name := range h.names {
		out = append(out, h.plugins[name].status())
	}
	return out
}

// Stop stops supervising and stops every plugin; it returns when their processes are gone.
func (h *Host) Stop() {
	h.stopOnce.Do(func() {
		if h.cancel != nil {
			h.cancel()
		}
		h.wg.Wait()
		var wg sync.WaitGroup
		for _, p := range h.plugins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.kill()
			}()
		}
		wg.Wait()
	})
}
