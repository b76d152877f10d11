package dockerapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vice-engine/vice/core/dockerapi"
	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/internal/pltest"
	"github.com/vice-engine/vice/core/portlayer"
)

// stack is the whole core over an in-memory backend: Docker API -> engine -> port-layer client -> generated
// port-layer server -> fake backend.
type stack struct {
	backend *pltest.Backend
	engine  *engine.Engine
	api     *dockerapi.API
	srv     *httptest.Server
}

func newStack(t *testing.T, opts ...engine.Option) *stack {
	t.Helper()
	b := pltest.NewBackend()
	status := func() []engine.PluginInfo {
		return []engine.PluginInfo{{Name: "fake", Path: "/etc/vice/plugins/fake", APIVersion: 1, Running: true, PID: 4242}}
	}
	eng := engine.New(portlayer.New(pltest.Transport(b.Handler())), append([]engine.Option{engine.WithPluginStatus(status),
		engine.WithBuild(engine.BuildInfo{Version: "0.1.0-test", GitCommit: "c0ffee1"})}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	b.WaitSubscribers(1)
	api := dockerapi.New(eng, dockerapi.WithLogger(quietLogger()), dockerapi.WithServerVersion("0.1.0-test"))
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
	})
	return &stack{backend: b, engine: eng, api: api, srv: srv}
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
