package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestAPITime sends a command's requests to a unix-socket server as the CLI would: the ping first, every
// request on the one connection, "{id}" taken from the previous answer, and a refused request an error.
func TestAPITime(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	conns := 0
	srv := &http.Server{
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				mu.Lock()
				conns++
				mu.Unlock()
			}
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Method+" "+r.URL.RequestURI())
			mu.Unlock()
			switch {
			case r.URL.Path == "/_ping":
			case strings.HasSuffix(r.URL.Path, "/json"):
				_ = json.NewEncoder(w).Encode(map[string]string{"Id": "abc123"})
			case strings.HasSuffix(r.URL.Path, "/logs"):
				_, _ = w.Write([]byte("log"))
			default:
				http.Error(w, `{"message":"no such thing"}`, http.StatusNotFound)
			}
		}),
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s := &side{name: "test", dial: dialer("unix", sock)}

	secs, body, err := apiTime(context.Background(), s,
		apiReq{http.MethodGet, "/containers/one/json", ""}, apiReq{http.MethodGet, "/containers/{id}/logs?stdout=1", ""})
	if err != nil {
		t.Fatal(err)
	}
	if secs <= 0 || string(body) != "log" {
		t.Fatalf("apiTime = %v s, %q", secs, body)
	}
	mu.Lock()
	got, n := strings.Join(seen, ", "), conns
	mu.Unlock()
	want := "HEAD /_ping, GET /v1.41/containers/one/json, GET /v1.41/containers/abc123/logs?stdout=1"
	if got != want || n != 1 {
		t.Fatalf("requests %q on %d connections, want %q on 1", got, n, want)
	}

	_, _, err = apiTime(context.Background(), s, apiReq{http.MethodPost, "/containers/create", apiCreateBody("img")})
	if err == nil || !strings.Contains(err.Error(), "status 404") || !strings.Contains(err.Error(), "no such thing") {
		t.Fatalf("a refused request: %v, want its status and message", err)
	}
}

// TestAPICreateBody is what the CLI's create sends that matters to an engine.
func TestAPICreateBody(t *testing.T) {
	var b struct {
		Image      string
		Cmd        []string
		HostConfig struct{ NetworkMode string }
	}
	if err := json.Unmarshal([]byte(apiCreateBody("reg/busybox")), &b); err != nil {
		t.Fatal(err)
	}
	if b.Image != "reg/busybox" || strings.Join(b.Cmd, " ") != "true" || b.HostConfig.NetworkMode != "default" {
		t.Fatalf("body %+v", b)
	}
}
