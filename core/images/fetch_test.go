package images_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// A port layer that cannot download a blob itself has it streamed through the engine: one without
// FetchLayer (a plugin from before it), and one whose download fails before its first byte (a registry the
// plugin cannot reach). Either way the pull works and writes the layer once, and the next pull from that
// registry does not ask the plugin again.
func TestPullStreamsWhenThePluginCannotFetch(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String() + "/v2/busybox/blobs/unreachable"
	closed.Close()

	for _, c := range []struct {
		name   string
		change func(req *http.Request) *http.Response
	}{
		{"without FetchLayer", func(req *http.Request) *http.Response {
			// What a plugin's router answers for an operation it does not know.
			return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
				Body:    io.NopCloser(strings.NewReader(`{"class":"not_found","message":"path /v1/storage/layers/x/fetch was not found"}`)),
				Request: req}
		}},
		{"unreachable from the plugin", func(req *http.Request) *http.Response {
			var src map[string]any
			body, _ := io.ReadAll(req.Body)
			if err := json.Unmarshal(body, &src); err != nil {
				t.Errorf("FetchLayer's body: %v", err)
			}
			src["url"] = unreachable
			body, _ = json.Marshal(src)
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			return nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := plugintest.Shared(t)
			tracked := p.Track()
			rc, err := imagec.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			var fetches int
			rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/fetch") {
					fetches++
					if resp := c.change(req); resp != nil {
						return resp, nil
					}
				}
				return tracked.RoundTrip(req)
			})
			e := &env{plugin: p, tracked: tracked, backend: p.Client()}
			e.svc = images.New(portlayer.New(plugintest.Name, rt), rc,
				images.WithLogger(slog.New(slog.DiscardHandler)), images.WithTempDir(t.TempDir()))
			e.pull(t, fixtures.Busybox)
			img, _ := fixtures.BusyboxImage()
			cfg, _ := img.ConfigFile()
			base := cfg.RootFS.DiffIDs[0].Hex
			if fetches == 0 {
				t.Fatal("the engine did not ask the port layer to fetch the layer")
			}
			if n, f := tracked.LayerWrites(base), tracked.LayerFetches(base); n != 1 || f != 0 {
				t.Errorf("base layer written %d times, %d of them fetched by the plugin; want 1 streamed", n, f)
			}
			if _, err := e.svc.Inspect(t.Context(), reg.Ref(fixtures.Busybox)); err != nil {
				t.Errorf("inspect after the pull: %v", err)
			}
			// The next pull's layers from that registry stream at once: the plugin is not asked again.
			asked := fetches
			e.pull(t, fixtures.Layered)
			if fetches != asked {
				t.Errorf("the next pull asked the port layer to fetch %d more layers", fetches-asked)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
