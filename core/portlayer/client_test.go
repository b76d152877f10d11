package portlayer_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"

	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// eventWait bounds a wait for an event through the plugin: a safety net, not a measure (a loaded machine runs
// the plugin and its simulator many times slower).
const eventWait = 2 * time.Minute

// newClient is a port-layer client of the real vcsim plugin, through go-plugin.
func newClient(t *testing.T) (*portlayer.Client, *plugintest.Plugin, *plugintest.Tracked) {
	t.Helper()
	p := plugintest.Shared(t)
	tr := p.Track()
	return portlayer.New(plugintest.Name, tr), p, tr
}

func TestPingAndInfo(t *testing.T) {
	ctx := t.Context()
	c, p, _ := newClient(t)
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	// The simulator's cluster: three hosts of two cores.
	if *info.Name != plugintest.VCHName || info.Pool.Cpus != 6 || len(info.Hosts) != 3 {
		t.Errorf("Info = %+v", info)
	}

	// A plugin that is down answers unavailable.
	err = portlayer.New(plugintest.Name, p.Stopped(t)).Ping(ctx)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "backend plugin vcsim is stopped") {
		t.Errorf("Ping error = %v (class %s)", err, errdefs.Class(err))
	}
}

func TestKV(t *testing.T) {
	ctx := t.Context()
	c, _, _ := newClient(t)
	// The backend's error crosses the port layer with its class and its own message.
	if _, err := c.GetValue(ctx, "images.tag.busybox"); !errors.Is(err, errdefs.ErrNotFound) ||
		!strings.HasPrefix(err.Error(), "key images.tag.busybox: ") {
		t.Fatalf("GetValue of a missing key = %q, want not found", err)
	}
	for i, v := range []string{"sha256:aa", "sha256:bb"} {
		rec, err := c.PutValue(ctx, kv("images.tag.busybox", v))
		if err != nil || rec.Revision != int64(i+1) {
			t.Fatalf("PutValue = %+v, %v", rec, err)
		}
	}
	if _, err := c.PutValue(ctx, kv("networks.bridge", "{}")); err != nil {
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
	c, p, tr := newClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := c.Events(ctx, []string{"container"})
	if err != nil {
		t.Fatal(err)
	}
	tr.WaitEventStreams(t, 1)
	if _, err := c.PutValue(t.Context(), kv("events.test", "x")); err != nil { // a kv event: filtered out by type
		t.Fatal(err)
	}
	id := createContainer(t, p, "web")
	select {
	case ev := <-ch:
		if *ev.Type != "container" || *ev.Action != "create" || ev.ID != id || ev.Attributes["name"] != "web" {
			t.Errorf("event = %+v", ev)
		}
	case <-time.After(eventWait):
		t.Fatal("no event arrived while the stream is open")
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("an event after cancel")
		}
	case <-time.After(eventWait):
		t.Fatal("channel not closed after cancel")
	}
	tr.WaitEventStreams(t, 0)
}

func TestEventsNotImplemented(t *testing.T) {
	// A backend without an EventSource answers not_implemented.
	c := portlayer.New(plugintest.Name, launchPingOnly(t))
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
	c := portlayer.New(plugintest.Name, rt)
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

func kv(key, value string) *models.KeyValue {
	v := strfmt.Base64(value)
	return &models.KeyValue{Key: &key, Value: &v}
}
