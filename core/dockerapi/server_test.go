package dockerapi_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/dockerapi"
)

// serve runs the stack's API on a unix socket and a TCP port until the test ends.
func serve(t *testing.T, s *stack) (sock, tcpAddr string) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "vice.sock")
	ls, err := dockerapi.Listen([]string{"unix://" + sock, "tcp://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dockerapi.NewServer(s.api, quietLogger()).ServeListeners(ctx, ls) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return sock, ls[1].Addr().String()
}

func TestListenForms(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // leaves a socket file nobody answers on
	ls, err := dockerapi.Listen([]string{"unix://" + stale, "tcp://127.0.0.1:0", "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	fi, err := os.Stat(stale)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, %v; want 0660", fi.Mode(), err)
	}
	// A live socket is not taken over.
	if _, err := dockerapi.Listen([]string{"unix://" + stale}); err == nil {
		t.Error("Listen took over a live socket")
	}
	for _, l := range ls {
		l.Close()
	}
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, nil, 0o600)
	for _, bad := range []string{"unix://" + regular, "fd://", "ssh://host", "tcp://127.0.0.1:notaport"} {
		if _, err := dockerapi.Listen([]string{bad}); err == nil {
			t.Errorf("Listen(%q) succeeded", bad)
		}
	}
}

func TestServeShutsDownWithOpenStream(t *testing.T) {
	s := newStack(t)
	sock := filepath.Join(t.TempDir(), "vice.sock")
	ls, err := dockerapi.Listen([]string{"unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dockerapi.NewServer(s.api, quietLogger()).ServeListeners(ctx, ls) }()

	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://docker/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running with an event stream open")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}
