package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/internal/pltest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func newEngine(t *testing.T) (*engine.Engine, *pltest.Backend) {
	t.Helper()
	b := pltest.NewBackend()
	status := func() []engine.PluginInfo {
		return []engine.PluginInfo{{Name: "fake", Path: "/etc/vice/plugins/fake", APIVersion: 1, Running: true, PID: 42, Restarts: 2}}
	}
	e := engine.New(portlayer.New(pltest.Transport(b.Handler())),
		engine.WithPluginStatus(status), engine.WithBuild(engine.BuildInfo{Version: "0.1.0", GitCommit: "abc1234"}))
	return e, b
}

func TestSystemInfo(t *testing.T) {
	e, b := newEngine(t)
	info, err := e.SystemInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]any{
		"OperatingSystem": {info.OperatingSystem, "VMware vCenter Server 8.0.2 build-22617221 (vice)"},
		"OSType":          {info.OSType, "linux"},
		"Architecture":    {info.Architecture, "x86_64"},
		"NCPU":            {info.NCPU, 8},
		"MemTotal":        {info.MemTotal, int64(16 << 30)},
		"Name":            {info.Name, "vch-test"},
		"Driver":          {info.Driver, "vice-fake"},
		"ServerVersion":   {info.ServerVersion, "0.1.0"},
		"DefaultRuntime":  {info.DefaultRuntime, "fake"},
		"Containers":      {info.Containers, 0},
		"Images":          {info.Images, 0},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	status := map[string]string{}
	for _, kv := range info.DriverStatus {
		status[kv[0]] = kv[1]
	}
	for k, want := range map[string]string{
		"VCH pool": "/DC0/host/DC0_C0/Resources/vch-test", "VCH CPU limit": "unlimited", "VCH memory capacity": "16GiB",
		"VCH CPU usage": "230 MHz", "Datastores": "2", " LocalDS_0": "60GiB free of 100GiB (OTHER)", "Hosts": "2",
	} {
		if status[k] != want {
			t.Errorf("DriverStatus[%q] = %q, want %q", k, status[k], want)
		}
	}
	if rt := info.Runtimes["fake"]; rt.Status["restarts"] != "2" || rt.Path != "/etc/vice/plugins/fake" {
		t.Errorf("Runtimes = %+v", info.Runtimes)
	}

	b.InfoErr = errdefs.Classed(errors.New("vCenter session expired"), errdefs.ErrUnavailable)
	if _, err := e.SystemInfo(t.Context()); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("SystemInfo with the backend failing = %v, want unavailable", err)
	}
}

func TestVersion(t *testing.T) {
	e, b := newEngine(t)
	v, err := e.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "0.1.0" || v.APIVersion != engine.MaxAPIVersion || v.MinAPIVersion != "1.12" || v.Os != "linux" {
		t.Errorf("Version = %+v", v)
	}
	if len(v.Components) != 2 || v.Components[0].Name != "Engine" || v.Components[1].Name != "vice-plugin-fake" ||
		v.Components[1].Version != "0.0.1" || v.Components[1].Details["Restarts"] != "2" {
		t.Errorf("Components = %+v", v.Components)
	}
	// The plugin being down does not fail `docker version`.
	b.InfoErr = errdefs.Classed(errors.New("plugin restarting"), errdefs.ErrUnavailable)
	v, err = e.Version(t.Context())
	if err != nil || v.Components[1].Details["Error"] != "plugin restarting" {
		t.Errorf("Version with the plugin down = %+v, %v", v.Components, err)
	}
}

func TestEvents(t *testing.T) {
	e, b := newEngine(t)
	if _, err := e.Events(t.Context(), engine.EventsOptions{}); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Events before Run = %v, want unavailable", err)
	}
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	b.WaitSubscribers(1)

	start := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	live, err := e.Events(ctx, engine.EventsOptions{Filter: engine.EventFilter{"type": {"container"}, "event": {"start"}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	b.Emit(pltest.Event("container", "create", "c1", now, map[string]string{"name": "web", "image": "busybox"}))
	b.Emit(pltest.Event("image", "pull", "busybox:latest", now+1, nil))
	b.Emit(pltest.Event("container", "start", "c1", now+2, map[string]string{"name": "web", "image": "busybox"}))
	m := recv(t, live)
	if m.Type != events.ContainerEventType || m.Action != events.ActionStart || m.Actor.ID != "c1" ||
		m.Actor.Attributes["name"] != "web" || m.TimeNano != now+2 || m.Time != (now+2)/1e9 || m.Scope != "local" {
		t.Errorf("live event = %+v", m)
	}

	// Since replays the log; an until in the past ends the stream after the replay.
	past, err := e.Events(t.Context(), engine.EventsOptions{Since: start, Until: time.Now(), Filter: engine.EventFilter{"container": {"web"}}})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for m := range past {
		actions = append(actions, string(m.Action))
	}
	if strings.Join(actions, ",") != "create,start" {
		t.Errorf("replayed actions = %v, want create,start", actions)
	}

	// A future until ends the stream when it passes.
	soon, err := e.Events(t.Context(), engine.EventsOptions{Until: time.Now().Add(200 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range soon {
		n++
	}
	if n != 3 {
		t.Errorf("until-bounded stream gave %d events, want the 3 recorded", n)
	}
	if _, err := e.Events(t.Context(), engine.EventsOptions{Since: time.Now(), Until: start}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("until before since = %v, want invalid", err)
	}
}

func TestEventFilter(t *testing.T) {
	m := events.Message{Type: "container", Action: "exec_start: sh -c ls", Scope: "local",
		Actor: events.Actor{ID: "4f2a9c", Attributes: map[string]string{"name": "web", "image": "busybox:1.36", "tier": "front"}}}
	for _, c := range []struct {
		f    engine.EventFilter
		want bool
	}{
		{engine.EventFilter{}, true},
		{engine.EventFilter{"container": {"4f2"}}, true},
		{engine.EventFilter{"container": {"web"}}, true},
		{engine.EventFilter{"container": {"db"}}, false},
		{engine.EventFilter{"event": {"exec_start"}}, true},
		{engine.EventFilter{"event": {"start"}}, false},
		{engine.EventFilter{"type": {"image", "container"}}, true},
		{engine.EventFilter{"image": {"busybox"}}, true},
		{engine.EventFilter{"label": {"tier=front"}}, true},
		{engine.EventFilter{"label": {"tier=back"}}, false},
		{engine.EventFilter{"volume": {"data"}}, false},
	} {
		if got := c.f.Match(m); got != c.want {
			t.Errorf("%v.Match = %v, want %v", c.f, got, c.want)
		}
	}
}

func recv(t *testing.T, ch <-chan events.Message) events.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return events.Message{}
	}
}
