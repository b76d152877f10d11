// Command vice-engine is the VCH endpoint: it starts the registered backend plugins and serves the Docker
// Engine API from one of them.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/vice-engine/vice/core/dockerapi"
	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/pprofenv"
)

// Set with -ldflags "-X main.version=... -X main.gitCommit=... -X main.buildTime=...".
var (
	version   = "0.0.0-dev"
	gitCommit = ""
	buildTime = ""
)

// config is what the command line says.
type config struct {
	hosts      []string
	pluginsDir string
	backend    string
	debug      bool

	insecureRegistries []string
	registryMirrors    []string
	registryCAs        []string // PEM files
	whitelist          []string
	dns                []string

	tls       dockerapi.TLSOptions
	tlsConfig *tls.Config // loaded from tls by parseFlags
}

func main() {
	pprofenv.Serve("VICE_PPROF_ADDR")
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	level := slog.LevelInfo
	if cfg.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
	}()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("vice-engine stopped", "err", err)
		return 1
	}
	return 0
}

// serve starts the plugins and serves the Docker API until ctx ends, then stops every plugin.
func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	reg, err := registryClient(cfg)
	if err != nil {
		return err
	}
	host, err := pluginhost.New(pluginhost.Options{Dir: cfg.pluginsDir, Logger: log})
	if err != nil {
		return fmt.Errorf("plugin registry %s: %w", cfg.pluginsDir, err)
	}
	if err := host.Start(ctx); err != nil {
		return fmt.Errorf("start plugins: %w", err)
	}
	defer host.Stop()

	name, err := pickBackend(cfg.backend, host.Names())
	if err != nil {
		return err
	}
	rt, err := host.Transport(name)
	if err != nil {
		return err
	}
	eng := engine.New(portlayer.New(name, rt),
		engine.WithPluginStatus(func() []engine.PluginInfo { return pluginInfos(host.Status()) }),
		engine.WithBuild(engine.BuildInfo{Version: version, GitCommit: gitCommit, BuildTime: buildTime}),
		engine.WithLogger(log),
		engine.WithDebug(cfg.debug),
		engine.WithDNS(cfg.dns),
		engine.WithRegistryClient(reg))

	var wg sync.WaitGroup
	defer wg.Wait()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { _ = eng.Run(runCtx) })

	api := dockerapi.New(eng, dockerapi.WithLogger(log), dockerapi.WithServerVersion(version))
	log.Debug("serving backend", "backend", name, "plugins", host.Names())
	srv := dockerapi.NewServer(api, log)
	srv.TLS = cfg.tlsConfig
	return srv.Serve(ctx, cfg.hosts)
}

// pickBackend is the --backend plugin, or the only registered one.
func pickBackend(want string, names []string) (string, error) {
	switch {
	case want != "":
		return want, nil
	case len(names) == 1:
		return names[0], nil
	case len(names) == 0:
		return "", errors.New("no backend plugin is registered")
	default:
		return "", fmt.Errorf("several backend plugins are registered (%s): choose one with --backend", strings.Join(names, ", "))
	}
}

func pluginInfos(st []pluginhost.Status) []engine.PluginInfo {
	out := make([]engine.PluginInfo, len(st))
	for i, s := range st {
		out[i] = engine.PluginInfo{Name: s.Name, Path: s.Path, APIVersion: s.APIVersion, Running: s.Running,
			PID: s.PID, Restarts: s.Restarts}
	}
	return out
}

// registryClient reaches registries as the registry flags say.
func registryClient(cfg config) (*imagec.Client, error) {
	opts := []imagec.Option{imagec.WithUserAgent("vice/" + version), imagec.WithMirrors(cfg.registryMirrors...),
		imagec.WithWhitelist(cfg.whitelist...)}
	for _, f := range cfg.registryCAs {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--registry-ca: %w", err)
		}
		opts = append(opts, imagec.WithRegistryCAs(pem))
	}
	return imagec.New(cfg.insecureRegistries, opts...)
}
