package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

var quiet = slog.New(slog.DiscardHandler)

// newEngine is an engine over the real vcsim plugin, with the plugin host's status as vice-engine gives it.
func newEngine(t *testing.T) (*engine.Engine, *plugintest.Plugin, *plugintest.Tracked) {
	t.Helper()
	p := plugintest.Shared(t)
	tr := p.Track()
	e := engine.New(portlayer.New(plugintest.Name, tr), engine.WithPluginStatus(p.PluginStatus),
		engine.WithBuild(engine.BuildInfo{Version: "0.1.0", GitCommit: "abc1234"}), engine.WithLogger(quiet))
	return e, p, tr
}

// downEngine is an engine whose plugin is down: its host stopped it.
func downEngine(t *testing.T, p *plugintest.Plugin) *engine.Engine {
	t.Helper()
	return engine.New(portlayer.New(plugintest.Name, p.Stopped(t)),
		engine.WithPluginStatus(p.PluginStatus), engine.WithBuild(engine.BuildInfo{Version: "0.1.0", GitCommit: "abc1234"}),
		engine.WithLogger(quiet))
}

func TestSystemInfo(t *testing.T) {
	e, p, _ := newEngine(t)
	info, err := e.SystemInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The simulator's vCenter: three hosts of 2 cores at 2294 MHz and 4 GiB each; the VCH pool spans them.
	checks := map[string][2]any{
		"OperatingSystem": {info.OperatingSystem, "VMware vCenter Server 6.5.0 build-5973321 (vice)"},
		"OSType":          {info.OSType, "linux"},
		"Architecture":    {info.Architecture, "x86_64"},
		"NCPU":            {info.NCPU, 6},
		"MemTotal":        {info.MemTotal, int64(3 * 4294430720)},
		"Name":            {info.Name, plugintest.VCHName},
		"Driver":          {info.Driver, "vice-vcsim"},
		"ServerVersion":   {info.ServerVersion, "0.1.0"},
		"DefaultRuntime":  {info.DefaultRuntime, "vcsim"},
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
		"VCH pool": "/DC0/host/DC0_C0/Resources/" + plugintest.VCHName, "VCH CPU limit": "unlimited",
		"VCH memory capacity": "12GiB", "VCH CPU capacity": "6882 MHz", "Datastores": "1",
		"Hosts": "3", " DC0_C0_H0": "2 x 2294 MHz, 4GiB, connected",
	} {
		if status[k] != want {
			t.Errorf("DriverStatus[%q] = %q, want %q", k, status[k], want)
		}
	}
	// The simulator's datastore1 reports the file system its directory is on (the plugin's, below the
	// temporary directory): its capacity, and free space that moves with everything else on it.
	var fs unix.Statfs_t
	if err := unix.Statfs(os.TempDir(), &fs); err != nil {
		t.Fatal(err)
	}
	capacity := units.BytesSize(float64(int64(fs.Blocks) * fs.Bsize))
	if ds := status[" datastore1"]; !strings.HasSuffix(ds, " free of "+capacity+" (OTHER)") || strings.HasPrefix(ds, "-") {
		t.Errorf("DriverStatus[\" datastore1\"] = %q, want some free of %s (OTHER)", ds, capacity)
	}
	host := p.Host.Status()[0]
	if rt := info.Runtimes["vcsim"]; rt.Status["restarts"] != "0" || rt.Status["running"] != "true" ||
		rt.Status["pid"] != strconv.Itoa(host.PID) || rt.Path != host.Path {
		t.Errorf("Runtimes = %+v, want the plugin host's %+v", info.Runtimes, host)
	}

	// The plugin being down is the unavailable class.
	if _, err := downEngine(t, p).SystemInfo(t.Context()); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("SystemInfo with the plugin down = %v, want unavailable", err)
	}
}

func TestVersion(t *testing.T) {
	e, p, _ := newEngine(t)
	v, err := e.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	vch, err := p.Client().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "0.1.0" || v.APIVersion != engine.MaxAPIVersion || v.MinAPIVersion != "1.12" || v.Os != "linux" {
		t.Errorf("Version = %+v", v)
	}
	if len(v.Components) != 2 || v.Components[0].Name != "Engine" || v.Components[1].Name != "vice-plugin-vcsim" ||
		v.Components[1].Version != vch.BackendVersion || v.Components[1].Details["Restarts"] != "0" ||
		v.Components[1].Details["vSphere"] != "VMware vCenter Server 6.5.0 build-5973321" {
		t.Errorf("Components = %+v", v.Components)
	}
	// What the backend says of itself is asked once per plugin process.
	var infos atomic.Int32
	restarts := 0
	counting := countingTransport{rt: p.Track(), path: "/v1/info", n: &infos}
	e2 := engine.New(portlayer.New(plugintest.Name, counting), engine.WithLogger(quiet),
		engine.WithPluginStatus(func() []engine.PluginInfo {
			s := p.PluginStatus()
			for i := range s {
				s[i].Restarts = restarts
			}
			return s
		}))
	for range 3 {
		if v, err := e2.Version(t.Context()); err != nil || v.Components[1].Version != vch.BackendVersion {
			t.Fatalf("Version = %+v, %v", v.Components, err)
		}
	}
	restarts = 1 // the plugin host restarted the plugin: it is asked again
	v, err = e2.Version(t.Context())
	if err != nil || v.Components[1].Details["Restarts"] != "1" || v.Components[1].Details["vSphere"] == "" {
		t.Errorf("Version after a restart = %+v, %v", v.Components, err)
	}
	if n := infos.Load(); n != 2 {
		t.Errorf("four docker version across two plugin processes asked the backend's info %d times, want 2", n)
	}
	// The plugin being down does not fail `docker version`.
	v, err = downEngine(t, p).Version(t.Context())
	if err != nil || !strings.Contains(v.Components[1].Details["Error"], "backend plugin vcsim is stopped") {
		t.Errorf("Version with the plugin down = %+v, %v", v.Components, err)
	}
}

func TestEvents(t *testing.T) {
	e, _, tr := newEngine(t)
	if _, err := e.Events(t.Context(), engine.EventsOptions{}); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Events before Run = %v, want unavailable", err)
	}
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	tr.WaitEventStreams(t, 1)

	if _, err := e.Images().Import(t.Context(), images.ImportOptions{Source: plugintest.Busybox(t), Repo: "busybox"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	live, err := e.Events(ctx, engine.EventsOptions{Filter: engine.EventFilter{"type": {"container"}, "event": {"start"}}})
	if err != nil {
		t.Fatal(err)
	}
	created, err := e.Containers().Create(t.Context(), "web", container.CreateRequest{
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "300"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Containers().Start(t.Context(), "web"); err != nil {
		t.Fatal(err)
	}
	m := recv(t, live)
	if m.Type != events.ContainerEventType || m.Action != events.ActionStart || m.Actor.ID != created.ID ||
		m.Actor.Attributes["name"] != "web" || m.Actor.Attributes["image"] != "busybox" || m.TimeNano < start.UnixNano() ||
		m.Time != m.TimeNano/1e9 || m.Scope != "local" {
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
	var all []string
	for m := range soon {
		all = append(all, string(m.Type)+" "+string(m.Action))
	}
	// Everything recorded, and Docker's events only: the port layer's own (its kv records') are not Docker's.
	if strings.Join(all, ",") != "image import,container create,container start" {
		t.Errorf("until-bounded stream = %q, want the 3 recorded: image import, container create, container start", all)
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

// countingTransport counts the requests for one port-layer path.
type countingTransport struct {
	rt   http.RoundTripper
	path string
	n    *atomic.Int32
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == c.path {
		c.n.Add(1)
	}
	return c.rt.RoundTrip(req)
}
