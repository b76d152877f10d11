package engine

import (
	"log/slog"
	"sync/atomic"

	"github.com/vice-engine/vice/core/build"
	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/networks"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/core/volumes"
)

// The Docker Engine API versions vice serves.
const (
	// MaxAPIVersion is the newest API version served, and the default of requests that name none.
	MaxAPIVersion = "1.50"
	// MinAPIVersion is the oldest API version served.
	MinAPIVersion = "1.12"
)

// PluginInfo is the plugin host's view of one backend plugin.
type PluginInfo struct {
	Name       string
	Path       string
	APIVersion int // the plugin protocol version it was started with
	Running    bool
	PID        int
	Restarts   int
}

// BuildInfo identifies the vice build that runs.
type BuildInfo struct {
	Version   string
	GitCommit string
	BuildTime string
}

// Engine serves the Docker API's requests from one backend's port layer.
type Engine struct {
	pl      *portlayer.Client
	build   BuildInfo
	plugins func() []PluginInfo
	log     *slog.Logger
	debug   bool
	events  *eventLog
	dns     []string

	registry *imagec.Client
	imageTmp string
	images   *images.Service

	containers *containers.Service
	networks   *networks.Service
	volumes    *volumes.Service
	builder    *build.Service

	backendID atomic.Pointer[backendIdentity] // for docker version (version.go)
}

// Option configures an Engine.
type Option func(*Engine)

// WithBuild sets the build identity reported by `docker version` and `docker info`.
func WithBuild(b BuildInfo) Option { return func(e *Engine) { e.build = b } }

// WithPluginStatus gives the engine the plugin host's status of every registered plugin.
func WithPluginStatus(f func() []PluginInfo) Option { return func(e *Engine) { e.plugins = f } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithDNS sets the name servers of containers whose create request names none.
func WithDNS(servers []string) Option { return func(e *Engine) { e.dns = servers } }

// WithDebug reports the engine as running in debug mode.
func WithDebug(debug bool) Option { return func(e *Engine) { e.debug = debug } }

// WithEventLogSize sets how many past events `docker events --since` can replay (default 1024).
func WithEventLogSize(n int) Option { return func(e *Engine) { e.events.size = n } }

// New returns an engine over pl. Call Run to start following the backend's events.
func New(pl *portlayer.Client, opts ...Option) *Engine {
	e := &Engine{
		pl:      pl,
		build:   BuildInfo{Version: "0.0.0-dev"},
		plugins: func() []PluginInfo { return nil },
		log:     slog.Default(),
		events:  newEventLog(1024),
	}
	for _, o := range opts {
		o(e)
	}
	e.newImages()
	e.newNetworks()
	e.newContainers()
	e.newBuilder()
	return e
}

// Backend is the name of the backend plugin the engine serves from.
func (e *Engine) Backend() string { return e.pl.Name() }

// pluginInfo returns the plugin host's view of the engine's own backend.
func (e *Engine) pluginInfo() (PluginInfo, bool) {
	for _, p := range e.plugins() {
		if p.Name == e.pl.Name() {
			return p, true
		}
	}
	return PluginInfo{}, false
}
