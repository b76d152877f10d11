package dockerapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/build"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// buildRoutes are the classic builder's route and BuildKit's, which vice answers with what to do instead.
func (a *API) buildRoutes() []route {
	buildKit := func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("vice has no BuildKit builder (%s %s): build with the classic builder, DOCKER_BUILDKIT=0 docker build ..., "+
			"or docker compose with DOCKER_BUILDKIT=0: %w", r.Method, r.URL.Path, errdefs.ErrNotImplemented)
	}
	return []route{
		newRoute(http.MethodPost, "/build", a.build),
		newRoute(http.MethodPost, "/build/cancel", func(w http.ResponseWriter, r *http.Request) error {
			// A classic build ends when its client goes away; there is nothing to cancel by ID.
			w.WriteHeader(http.StatusOK)
			return nil
		}),
		newRoute(http.MethodPost, "/session", buildKit),
		newRoute(http.MethodPost, "/grpc", buildKit),
	}
}

// build is POST /build: the classic builder. Bad parameters are ordinary errors; what fails once the build
// began ends the JSON stream with Docker's errorDetail (with a failed RUN's exit code).
func (a *API) build(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if v := q.Get("version"); v == "2" {
		return fmt.Errorf("vice has no BuildKit builder (version=2): build with the classic builder (version=1, DOCKER_BUILDKIT=0): %w",
			errdefs.ErrNotImplemented)
	}
	o := build.Options{
		Context: r.Body, Dockerfile: q.Get("dockerfile"), Tags: q["t"], Target: q.Get("target"),
		NoCache: boolValue(q.Get("nocache")), Pull: boolValue(q.Get("pull")), Quiet: boolValue(q.Get("q")),
		Remove: q.Get("rm") == "" || boolValue(q.Get("rm")), ForceRemove: boolValue(q.Get("forcerm")),
		Platform: q.Get("platform"), NetworkMode: q.Get("networkmode"), ExtraHosts: q["extrahosts"],
	}
	if err := jsonParam(q.Get("buildargs"), &o.BuildArgs, "buildargs"); err != nil {
		return err
	}
	if err := jsonParam(q.Get("labels"), &o.Labels, "labels"); err != nil {
		return err
	}
	var err error
	if o.Memory, err = intParam(q.Get("memory"), "memory"); err != nil {
		return err
	}
	if cpus, err := intParam(q.Get("cpuquota"), "cpuquota"); err != nil {
		return err
	} else if period, _ := intParam(q.Get("cpuperiod"), "cpuperiod"); cpus > 0 {
		if period <= 0 {
			period = 100000
		}
		o.NanoCPUs = cpus * 1e9 / period
	}
	if h := r.Header.Get("X-Registry-Config"); h != "" {
		raw, err := base64.URLEncoding.DecodeString(h)
		if err != nil {
			raw, err = base64.StdEncoding.DecodeString(h)
		}
		if err == nil {
			var auth map[string]registry.AuthConfig
			if json.Unmarshal(raw, &auth) == nil {
				o.Auth = auth
			}
		}
	}
	if err := build.CheckOptions(o, q.Get("remote")); err != nil {
		return err
	}
	// The stream begins with the first message, once the context is read: an HTTP/1.1 server may not read a
	// request's body after its response began.
	var out images.ProgressFunc
	_, _ = a.eng.Builder().Build(r.Context(), o, build.Output(func(m images.Message) {
		if out == nil {
			out = startJSONStream(w)
		}
		out(m)
	}))
	if out == nil {
		startJSONStream(w)
	}
	return nil
}

// jsonParam decodes a query parameter holding JSON (buildargs, labels); empty leaves v as is.
func jsonParam(s string, v any, name string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("invalid %s: %v: %w", name, err, errdefs.ErrInvalid)
	}
	return nil
}

// intParam reads an integer query parameter; empty is 0.
func intParam(s, name string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: %w", name, s, errdefs.ErrInvalid)
	}
	return n, nil
}
