package portlayer_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// pingOnlyEnv makes the test binary serve pingOnly as a backend plugin.
const pingOnlyEnv = "VICE_PORTLAYER_TEST_PING_ONLY"

func TestMain(m *testing.M) {
	if os.Getenv(pingOnlyEnv) == "1" {
		sdk.Serve(pingOnly{})
		os.Exit(0)
	}
	os.Exit(plugintest.Main(m))
}

// pingOnly is a backend with none of the optional interfaces: ping and info only.
type pingOnly struct{}

func (pingOnly) Name() string                   { return "ping-only" }
func (pingOnly) Ping(ctx context.Context) error { return nil }
func (pingOnly) Info(ctx context.Context) (*models.VCHInfo, error) {
	name, backend := "vch-ping-only", "ping-only"
	return &models.VCHInfo{Name: &name, Backend: &backend, Vsphere: &models.VSphereInfo{}, Pool: &models.PoolInfo{}}, nil
}

// launchPingOnly runs the test binary as the ping-only plugin, through pluginhost, until the test ends.
func launchPingOnly(t *testing.T) http.RoundTripper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := pluginhost.WriteManifest(dir, pluginhost.Manifest{Name: "ping-only", Path: exe, Env: []string{pingOnlyEnv + "=1"}}); err != nil {
		t.Fatal(err)
	}
	h, err := pluginhost.New(pluginhost.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	rt, err := h.Transport("ping-only")
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// createContainer makes a busybox container through core's image and container services, which write its
// layer and spec through this port-layer client, and returns its ID.
func createContainer(t *testing.T, p *plugintest.Plugin, name string) string {
	t.Helper()
	pl := p.Client()
	rc, err := imagec.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	imgs := images.New(pl, rc, images.WithLogger(quiet), images.WithTempDir(t.TempDir()))
	if _, err := imgs.Import(t.Context(), images.ImportOptions{Source: plugintest.Busybox(t), Repo: "busybox"}); err != nil {
		t.Fatal(err)
	}
	created, err := containers.New(pl, imgs, containers.WithLogger(quiet)).Create(t.Context(), name,
		container.CreateRequest{Config: &container.Config{Image: "busybox", Cmd: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	return created.ID
}
