package portlayer_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/internal/pltest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func newClient(t *testing.T) (*portlayer.Client, *pltest.Backend) {
	t.Helper()
	b := pltest.NewBackend()
	return portlayer.New(pltest.Transport(b.Handler())), b
}

func TestPingAndInfo(t *testing.T) {
	ctx := t.Context()
	c, b := newClient(t)
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if *info.Name != "vch-test" || info.Pool.Cpus != 8 || len(info.Hosts) != 2 {
		t.Errorf("Info = %+v", info)
	}

	b.PingErr = errdefs.Classed(errors.New("vCenter unreachable"), errdefs.ErrUnavailable)
	err = c.Ping(ctx)
	if !errors.Is(err, errdefs.ErrUnavailable) || err.Error() != "vCenter unreachable" {
		t.Errorf("Ping error = %v (class %s)", err, errdefs.Class(err))
	}
}

func TestKV(t *testing.T) {
	ctx := t.Context()
	c, _ := newClient(t)
	if _, err := c.GetValue(ctx, "images.tag.busybox"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("GetValue of a missing key = %v, want not found", err)
	}
	for i, v := range []string{"sha256:aa", "sha256:bb"} {
		rec, err := c.PutValue(ctx, "images.tag.busybox", []byte(v))
		if err != nil || rec.Revision != int64(i+1) {
			t.Fatalf("PutValue = %+v, %v", rec, err)
		}
	}
	if _, err := c.PutValue(ctx, "networks.bridge", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	rec, err := c.GetValue(ctx, "images.tag.busybox")
	if err != nil || string(*rec.Value) != "sha256:bb" {
		t.Fatalf("GetValue = %+v, %v", rec, err)
	}
	list, err := c.ListValues(ctx, "images.")
	if err != nil || len(list) != 1 || *list[0].Key != "images.tag.busybox" {
		t.Fatalf("ListValues = %v, %v", list, err)
	}
	all, err := c.ListValues(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("ListValues(all) = %v, %v", all, err)
	}
	if err := c.DeleteValue(ctx, "images.tag.busybox"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteValue(ctx, "images.tag.busybox"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("second DeleteValue = %v, want not found", err)
	}
	// The generated server validates keys; its refusal arrives as the invalid class.
	if _, err := c.GetValue(ctx, "-bad key"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("GetValue(bad key) = %v (class %s), want invalid", err, errdefs.Class(err))
	}
}

func TestEventsStream(t *testing.T) {
	c, b := newClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := c.Events(ctx, []string{"container"})
	if err != nil {
		t.Fatal(err)
	}
	b.WaitSubscribers(1)
	b.Emit(pltest.Event("image", "pull", "busybox", 1, nil)) // filtered out by type
	b.Emit(pltest.Event("container", "start", "abc", 2, map[string]string{"name": "web"}))
	select {
	case ev := <-ch:
		if *ev.Type != "container" || *ev.Action != "start" || ev.ID != "abc" || ev.Attributes["name"] != "web" {
			t.Errorf("event = %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event arrived while the stream is open")
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("an event after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
	b.WaitSubscribers(0)
}

func TestEventsNotImplemented(t *testing.T) {
	// A backend without an EventSource answers not_implemented.
	h := pltest.NewBackend()
	c := portlayer.New(pltest.Transport(pingOnly{h}.handler(t)))
	_, err := c.Events(t.Context(), nil)
	if !errors.Is(err, errdefs.ErrNotImplemented) {
		t.Fatalf("Events = %v, want not implemented", err)
	}
}

func TestTransportFailureIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens there any more: the plugin is down
	rt := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}}
	c := portlayer.New(rt)
	for name, call := range map[string]func() error{
		"ping":   func() error { return c.Ping(t.Context()) },
		"info":   func() error { _, err := c.Info(t.Context()); return err },
		"events": func() error { _, err := c.Events(t.Context(), nil); return err },
	} {
		if err := call(); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Errorf("%s with the plugin down = %v (class %s), want unavailable", name, err, errdefs.Class(err))
		}
	}
}
