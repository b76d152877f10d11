package dockerapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/system"

	"github.com/vice-engine/vice/core/dockerapi"
	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestRoutesAndErrors(t *testing.T) {
	s := newStack(t)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		message                         string // the {"message"} of an error, or a body prefix
	}{
		{"ping", "GET", "/_ping", "", "", 200, "OK"},
		{"ping versioned", "GET", "/v1.40/_ping", "", "", 200, "OK"},
		{"version", "GET", "/version", "", "", 200, "{"},
		{"oldest version", "GET", "/v1.12/version", "", "", 200, "{"},
		{"newest version", "GET", "/v1.50/info", "", "", 200, "{"},
		{"too old", "GET", "/v1.11/info", "", "", 400,
			"client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version"},
		{"too new", "GET", "/v1.99/version", "", "", 400,
			"client version 1.99 is too new. Maximum supported API version is 1.50"},
		{"too old ping", "GET", "/v1.0/_ping", "", "", 400,
			"client version 1.0 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version"},
		{"malformed version", "GET", "/vabc/info", "", "", 404, "page not found"},
		{"empty version", "GET", "/v/info", "", "", 404, "page not found"},
		{"unknown route", "GET", "/nothing/here", "", "", 404, "page not found"},
		{"unknown versioned route", "GET", "/v1.12/nothing", "", "", 404, "page not found"},
		{"wrong method", "POST", "/info", "", "", 404, "page not found"},
		{"containers listed", "GET", "/containers/json", "", "", 200, "[]"},
		{"start of nothing", "POST", "/v1.47/containers/abc/start", "", "", 404, "No such container: abc"},
		{"checkpoints not built", "GET", "/v1.47/containers/abc/checkpoints", "", "", 501,
			"vice does not implement GET /containers/{id}/checkpoints (checkpoints) yet"},
		{"top of nothing", "GET", "/v1.47/containers/abc/top", "", "", 404, "No such container: abc"},
		{"exec of nothing", "GET", "/v1.47/exec/abc/json", "", "", 404, "No such exec instance: abc"},
		{"image with slashes", "GET", "/v1.50/images/library/busybox:latest/json", "", "", 404,
			"No such image: busybox:latest"},
		{"image prune", "POST", "/images/prune", "", "", 200, `{"ImagesDeleted":null,"SpaceReclaimed":0}`},
		{"image prune, bad filter", "POST", `/images/prune?filters={"nope":{"x":true}}`, "", "", 400, "invalid filter 'nope'"},
		{"container prune, bad until", "POST", `/containers/prune?filters={"until":{"yesterday":true}}`, "", "", 400,
			`failed to parse value as time or duration: "yesterday"`},
		{"df of an unknown type", "GET", "/v1.50/system/df?type=thing", "", "", 400, "unknown object type: thing"},
		{"no swarm", "GET", "/swarm", "", "", 503,
			`This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`},
		{"no swarm to leave", "POST", "/v1.50/swarm/leave?force=True", "", "", 503, "This node is not part of a swarm"},
		{"no swarm services", "GET", "/v1.50/services", "", "", 503,
			`This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`},
		{"container named like an image", "GET", "/v1.50/containers/127.0.0.1:5000/busybox/json", "", "", 404,
			"No such container: 127.0.0.1:5000/busybox"},
		{"remove a container named like an image", "DELETE", "/v1.50/containers/127.0.0.1:5000/busybox?v=False&link=False&force=False", "", "", 404,
			"No such container: 127.0.0.1:5000/busybox"},
		{"checkpoint route not shadowed", "DELETE", "/v1.50/containers/abc/checkpoints/c1", "", "", 501,
			"vice does not implement DELETE /containers/{id}/checkpoints/{checkpoint} (checkpoints) yet"},
		{"no networks", "GET", "/v1.50/networks/web", "", "", 404, "network web not found"},
		{"no volumes", "GET", "/v1.50/volumes/web", "", "", 404, "get web: no such volume"},
		{"no managed plugins", "GET", "/v1.50/plugins/vieux/sshfs:latest/json", "", "", 404, `plugin "vieux/sshfs:latest" not found`},
		{"not built, too new", "GET", "/v1.51/volumes", "", "", 400,
			"client version 1.51 is too new. Maximum supported API version is 1.50"},
		{"malformed JSON", "POST", "/auth", "application/json", `{"username": `, 400,
			"invalid JSON: unexpected EOF"},
		{"JSON syntax error", "POST", "/auth", "application/json", `{bad}`, 400,
			"invalid JSON: invalid character 'b' looking for beginning of object key string"},
		{"trailing JSON", "POST", "/auth", "application/json", `{} {}`, 400, "unexpected content after JSON"},
		{"not JSON", "POST", "/auth", "text/plain", `{}`, 400,
			"unsupported Content-Type header (text/plain): must be 'application/json'"},
		{"bad image name", "GET", "/images/Busybox/json", "", "", 400,
			"invalid reference format: repository name (Busybox) must be lowercase"},
		{"bad since", "GET", "/events?since=yesterday", "", "", 400, `invalid since timestamp "yesterday"`},
		{"bad filters", "GET", "/events?filters=nope", "", "", 400,
			"invalid filter: invalid character 'o' in literal null (expecting 'u')"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := do(t, s.api, c.method, c.path, c.ctype, c.body)
			if status != c.status {
				t.Fatalf("status = %d, want %d (body %s)", status, c.status, body)
			}
			if status < 300 {
				if !strings.HasPrefix(body, c.message) {
					t.Errorf("body = %q, want it to start with %q", body, c.message)
				}
				return
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var e struct{ Message string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message != c.message {
				t.Errorf("body = %q, want message %q", body, c.message)
			}
		})
	}
}

func TestPingHeaders(t *testing.T) {
	s := newStack(t)
	for _, method := range []string{"GET", "HEAD"} {
		status, hdr, body := do(t, s.api, method, "/_ping", "", "")
		if status != 200 {
			t.Fatalf("%s /_ping = %d", method, status)
		}
		want := map[string]string{
			"Api-Version": "1.50", "Docker-Experimental": "false", "Ostype": "linux", "Pragma": "no-cache",
			"Cache-Control": "no-cache, no-store, must-revalidate",
		}
		for k, v := range want {
			if hdr.Get(k) != v {
				t.Errorf("%s /_ping header %s = %q, want %q", method, k, hdr.Get(k), v)
			}
		}
		if wantBody := map[string]string{"GET": "OK", "HEAD": ""}[method]; body != wantBody {
			t.Errorf("%s /_ping body = %q, want %q", method, body, wantBody)
		}
	}
}

// TestBackendErrorClasses: each error class has its Docker status, and a backend's failure reaches the client
// with its class and message over the port layer.
func TestBackendErrorClasses(t *testing.T) {
	for class, status := range map[error]int{
		errdefs.ErrInvalid: 400, errdefs.ErrUnauthorized: 401, errdefs.ErrForbidden: 403, errdefs.ErrNotFound: 404,
		errdefs.ErrConflict: 409, errdefs.ErrNotModified: 304, errdefs.ErrNotImplemented: 501,
		errdefs.ErrUnavailable: 503, errdefs.ErrSystem: 500, errors.New("unclassified"): 500,
	} {
		if got := dockerapi.StatusCode(fmt.Errorf("VCH info: %w", errdefs.Classed(errors.New("vCenter says no"), class))); got != status {
			t.Errorf("class %v: status %d, want %d", class, got, status)
		}
	}
	// The plugin being down: unavailable, from the plugin host through the engine to Docker's 503.
	s := newStack(t)
	got, hdr, body := do(t, downAPI(t, s), "GET", "/info", "", "")
	var e struct{ Message string }
	if got != 503 || hdr.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &e) != nil ||
		!strings.HasPrefix(e.Message, "VCH info: ") || !strings.HasSuffix(e.Message, "backend plugin vcsim is stopped") {
		t.Errorf("info with the plugin down: %d %q (%s)", got, body, hdr.Get("Content-Type"))
	}
}

type panickingEngine struct{ dockerapi.Engine }

func (panickingEngine) SystemInfo(context.Context) (system.Info, error) { panic("nil VCH") }
func (panickingEngine) Version(context.Context) (system.VersionResponse, error) {
	return system.VersionResponse{Version: "still alive"}, nil
}
func (panickingEngine) Events(context.Context, engine.EventsOptions) (<-chan events.Message, error) {
	return nil, errdefs.ErrNotImplemented
}

func TestPanicIsA500(t *testing.T) {
	api := dockerapi.New(panickingEngine{}, dockerapi.WithLogger(quietLogger()))
	status, _, body := do(t, api, "GET", "/v1.45/info", "", "")
	if status != http.StatusInternalServerError ||
		body != "{\"message\":\"internal error serving GET /v1.45/info: nil VCH\"}\n" {
		t.Errorf("panicking handler: %d %q", status, body)
	}
	if status, _, body := do(t, api, "GET", "/version", "", ""); status != 200 || !strings.Contains(body, "still alive") {
		t.Errorf("after a panic: %d %q", status, body)
	}
}

func TestInfoAndVersionBodies(t *testing.T) {
	s := newStack(t)
	_, _, body := do(t, s.api, "GET", "/info", "", "")
	var info system.Info
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != plugintest.VCHName || info.NCPU != 6 || info.OSType != "linux" || info.ServerVersion != "0.1.0-test" {
		t.Errorf("info = %+v", info)
	}
	_, _, body = do(t, s.api, "GET", "/v1.25/version", "", "")
	var v system.VersionResponse
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if v.APIVersion != "1.50" || v.MinAPIVersion != "1.12" || v.Components[1].Name != "vice-plugin-vcsim" {
		t.Errorf("version = %+v", v)
	}
}
