package plugintest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/core/portlayer"
)

// Name is the plugin's name in its manifest, VCHName the VCH it serves.
const (
	Name    = "vcsim"
	VCHName = "vch-test"
)

// Plugin is a running vice-plugin-vcsim and the pluginhost that supervises it.
type Plugin struct {
	// Host runs the plugin; its Status is what vice-engine reports.
	Host *pluginhost.Host
	// Transport carries port-layer requests to the plugin through go-plugin.
	Transport http.RoundTripper

	dir      string // manifests, and the plugin's TMPDIR (its datastore and the emulator's run directory)
	manifest pluginhost.Manifest
}

// Start builds the plugin (once per process) and launches it with its embedded simulator. The caller stops it.
func Start(ctx context.Context) (*Plugin, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the plugin's hypervisor emulator boots guests in namespaces of their own, which needs root")
	}
	bin, err := build()
	if err != nil {
		return nil, err
	}
	sweepStale()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Plugin{dir: dir, manifest: pluginhost.Manifest{
		Name: Name, Path: bin.plugin,
		Args: []string{"--name", VCHName, "--bootstrap-iso", bin.bootstrapISO},
		// The plugin's temporary directories (the simulator's datastore, the guests' run directories) go
		// below dir, so that nothing escapes the cleanup even when the plugin dies without its own.
		Env: []string{"TMPDIR=" + tmp},
	}}
	if _, err := pluginhost.WriteManifest(p.manifests(), p.manifest); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p.Host, err = pluginhost.New(pluginhost.Options{Dir: p.manifests(), Logger: logger(), StartTimeout: 2 * time.Minute})
	if err == nil {
		err = p.Host.Start(ctx)
	}
	if err == nil {
		p.Transport, err = p.Host.Transport(Name)
	}
	if err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Plugin) manifests() string { return filepath.Join(p.dir, "plugins") }

// Client is a port-layer client of the plugin.
func (p *Plugin) Client() *portlayer.Client { return portlayer.New(Name, p.Transport) }

// Stopped is the transport of a second host registering the same plugin, stopped: what the core sees of a
// plugin that is down.
func (p *Plugin) Stopped(t testing.TB) http.RoundTripper {
	t.Helper()
	dir := t.TempDir()
	if _, err := pluginhost.WriteManifest(dir, p.manifest); err != nil {
		t.Fatal(err)
	}
	h, err := pluginhost.New(pluginhost.Options{Dir: dir, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	h.Stop()
	rt, err := h.Transport(Name)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// Dir holds the plugin's manifest and its temporary files; Stop removes it.
func (p *Plugin) Dir() string { return p.dir }

// Guests lists the PIDs of the plugin's guests (each containerVM's tether, PID 1 of its namespaces).
func (p *Plugin) Guests() []int { return guestsUnder(p.tmp()) }

func (p *Plugin) tmp() string { return filepath.Join(p.dir, "tmp") }

// Stop stops the plugin (which stops its guests and simulator), kills any guest left behind, and removes
// the plugin's directories.
func (p *Plugin) Stop() error {
	if p.Host != nil {
		p.Host.Stop()
	}
	tmp := p.tmp()
	killed := killGuestsUnder(tmp)
	err := os.RemoveAll(p.dir)
	if len(killed) > 0 {
		return fmt.Errorf("the plugin left guests %v running under %s (killed)", killed, tmp)
	}
	return err
}

// logger is quiet unless VICE_PLUGINTEST_DEBUG is set.
func logger() *slog.Logger {
	if os.Getenv("VICE_PLUGINTEST_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

var (
	sharedMu  sync.Mutex
	shared    *Plugin
	sharedErr error
)

// Shared is the test process's plugin, started on first use; when t ends, Reset empties it for the next test.
func Shared(t testing.TB) *Plugin {
	t.Helper()
	sharedMu.Lock()
	if shared == nil && sharedErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		shared, sharedErr = Start(ctx)
		cancel()
	}
	p, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		t.Fatalf("start the vcsim plugin: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Reset(context.Background()); err != nil {
			t.Errorf("empty the backend after the test: %v", err)
		}
	})
	return p
}

// Main runs the tests, then stops the shared plugin and removes what the harness built. A TestMain returns
// its result: func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "plugintest:", err)
			code = max(code, 1)
		}
		shared = nil
	}
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	return code
}
