package dockerapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/dockerapi"
	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
)

func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

// guestWait bounds a wait for a guest to do something (print, exit, report): a safety net, not a measure,
// as a loaded machine boots and runs guests many times slower than an idle one.
const guestWait = 2 * time.Minute

// stack is the whole core over the real vcsim plugin: Docker API -> engine -> port-layer client -> go-plugin
// transport (through pluginhost) -> vice-plugin-vcsim with its embedded simulator and hypervisor emulator.
type stack struct {
	plugin *plugintest.Plugin
	engine *engine.Engine
	api    *dockerapi.API
	srv    *httptest.Server
	// tracked is the engine's transport to the plugin: what it asked the plugin.
	tracked *plugintest.Tracked
}

func newStack(t *testing.T, opts ...engine.Option) *stack {
	t.Helper()
	p := plugintest.Shared(t)
	tr := p.Track()
	eng := newEngine(p, tr, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	api := newAPI(eng)
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
	})
	tr.WaitEventStreams(t, 1) // the engine follows the backend's events
	return &stack{plugin: p, engine: eng, api: api, srv: srv, tracked: tr}
}

// downAPI is the API of an endpoint whose plugin is down: its host stopped it.
func downAPI(t *testing.T, s *stack) *dockerapi.API {
	t.Helper()
	return newAPI(newEngine(s.plugin, s.plugin.Stopped(t)))
}

func newEngine(p *plugintest.Plugin, rt http.RoundTripper, opts ...engine.Option) *engine.Engine {
	return engine.New(portlayer.New(plugintest.Name, rt), append([]engine.Option{
		engine.WithPluginStatus(p.PluginStatus), engine.WithLogger(quietLogger()),
		engine.WithBuild(engine.BuildInfo{Version: "0.1.0-test", GitCommit: "c0ffee1"})}, opts...)...)
}

func newAPI(eng *engine.Engine) *dockerapi.API {
	return dockerapi.New(eng, dockerapi.WithLogger(quietLogger()), dockerapi.WithServerVersion("0.1.0-test"))
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// do sends one request and returns the status, the headers and the body.
func do(t *testing.T, h http.Handler, method, path, contentType, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}
