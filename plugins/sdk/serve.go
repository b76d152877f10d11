package sdk

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// DebugAddrEnv names the environment variable that makes a plugin also serve the port layer over plain
// HTTP on that address, for poking at it with curl.
const DebugAddrEnv = "VICE_PLUGIN_DEBUG_ADDR"

type serveConfig struct {
	logger *slog.Logger
	onStop func()
}

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

// WithLogger sets the plugin's logger (default: NewLogger(false)).
func WithLogger(l *slog.Logger) ServeOption { return func(c *serveConfig) { c.logger = l } }

// WithStop registers f to run when the host stops the plugin or goes away, before Serve returns.
func WithStop(f func()) ServeOption { return func(c *serveConfig) { c.onStop = f } }

// Serve runs b as a go-plugin plugin and returns when the host stops it. It is the one call a backend
// plugin's main makes. When the host dies without stopping it, the plugin exits too.
func Serve(b Backend, opts ...ServeOption) {
	cfg := serveConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = NewLogger(false)
	}
	h, err := NewHandler(b)
	if err != nil {
		cfg.logger.Error("port-layer handler", "err", err)
		os.Exit(1)
	}
	if addr := os.Getenv(DebugAddrEnv); addr != "" {
		serveDebug(cfg.logger, addr, h)
	}
	go watchParent(cfg)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  transport.Handshake,
		VersionedPlugins: transport.PluginSets(h),
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(o, transport.ServerOptions()...)...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: b.Name(), Level: hclog.Warn, Output: os.Stderr, JSONFormat: true}),
	})
	if cfg.onStop != nil {
		cfg.onStop()
	}
}

// serveDebug serves h over plain HTTP beside the plugin transport.
func serveDebug(l *slog.Logger, addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		l.Error("debug listener", "addr", addr, "err", err)
		return
	}
	l.Info("serving the port layer for debugging", "addr", ln.Addr().String())
	go func() { _ = (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln) }()
}

// watchParent exits the plugin when its host is gone (the plugin was re-parented), so a host killed with
// SIGKILL leaves no plugin behind.
func watchParent(cfg serveConfig) {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			cfg.logger.Warn("plugin host went away; exiting", "host_pid", parent)
			if cfg.onStop != nil {
				cfg.onStop()
			}
			os.Exit(0)
		}
	}
}

// NewLogger returns the logger a plugin should use: JSON lines on stderr in the shape go-plugin's host
// understands (@level, @message, @timestamp), so the host logs them at their own level.
func NewLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				return slog.String("@level", levelName(a.Value.Any()))
			case slog.MessageKey:
				a.Key = "@message"
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			}
			return a
		},
	}))
}

func levelName(v any) string {
	l, ok := v.(slog.Level)
	if !ok {
		return fmt.Sprint(v)
	}
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
