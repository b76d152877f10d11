package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// apiVersion prefixes the requests of the API rows: the newest version both engines serve (Debian's Docker
// is 20.10, API 1.41), so both answer the same request.
const apiVersion = "/v1.41"

// apiReq is one request of a command, its path without the version prefix. "{id}" in a path is the Id of
// the previous answer (`docker logs <name>` inspects the container, then asks for the log by its ID).
type apiReq struct{ method, path, body string }

// apiTime sends what the CLI sends for one command, without the CLI: a HEAD /_ping and then the requests, on
// one new connection, and returns the wall time from the dial to the end of the last answer's body, with
// that body. What the CLI rows add to these (its start, its parsing and printing, its exit) is the same binary
// for both engines, so the API rows show the engines' own difference without that noise.
func apiTime(ctx context.Context, s *side, reqs ...apiReq) (float64, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tr := &http.Transport{
		DialContext:     func(ctx context.Context, _, _ string) (net.Conn, error) { return s.dial(ctx) },
		MaxConnsPerHost: 1, // the ping's connection carries the request, as the CLI's does
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	do := func(method, path, body string) ([]byte, int, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://engine"+path, rd)
		if err != nil {
			return nil, 0, err
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return data, resp.StatusCode, err
	}
	begin := time.Now()
	if _, code, err := do(http.MethodHead, "/_ping", ""); err != nil || code != http.StatusOK {
		return 0, nil, fmt.Errorf("ping: status %d: %v", code, err)
	}
	var data []byte
	for _, r := range reqs {
		if strings.Contains(r.path, "{id}") {
			var prev struct{ ID string }
			if err := json.Unmarshal(data, &prev); err != nil || prev.ID == "" {
				return 0, nil, fmt.Errorf("no Id for %s in %q", r.path, data)
			}
			r.path = strings.ReplaceAll(r.path, "{id}", prev.ID)
		}
		var code int
		var err error
		data, code, err = do(r.method, apiVersion+r.path, r.body)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
		}
		if code/100 != 2 {
			return 0, nil, fmt.Errorf("%s %s: status %d: %s", r.method, r.path, code, strings.TrimSpace(string(data)))
		}
	}
	return time.Since(begin).Seconds(), data, nil
}

// apiCreateBody is the body of `docker create <image> true`, as the CLI sends it, without the fields it
// sends at their zero values.
func apiCreateBody(image string) string {
	b, _ := json.Marshal(map[string]any{
		"Image": image, "Cmd": []string{"true"}, "AttachStdout": true, "AttachStderr": true,
		"HostConfig":       map[string]any{"NetworkMode": "default", "RestartPolicy": map[string]any{"Name": "no"}},
		"NetworkingConfig": map[string]any{"EndpointsConfig": map[string]any{"default": map[string]any{}}},
	})
	return string(b)
}

// apiCreateRow measures POST /containers/create alone; each container is removed again, untimed.
func (h *harness) apiCreateRow(ctx context.Context) {
	create := h.newRow("API alone: create", "s")
	body := apiCreateBody(h.image("busybox"))
	h.alternate(ctx, []*row{create}, 2*h.cfg.runs, nil, func(ctx context.Context, s *side) ([]float64, error) {
		t, data, err := apiTime(ctx, s, apiReq{http.MethodPost, "/containers/create", body})
		if err != nil {
			return nil, err
		}
		var created struct{ ID string }
		if err := json.Unmarshal(data, &created); err != nil || created.ID == "" {
			return nil, fmt.Errorf("create answered %q", data)
		}
		if _, err := s.status(context.WithoutCancel(ctx), http.MethodDelete, apiVersion+"/containers/"+created.ID+"?force=1", ""); err != nil {
			return nil, fmt.Errorf("remove %s: %w", created.ID, err)
		}
		return []float64{t}, nil
	})
}

// apiRunningRows measures the requests of ps, inspect and logs alone, with the fleets running. `docker logs`
// inspects the container (for its tty) before it asks for the log.
func (h *harness) apiRunningRows(ctx context.Context, first func(*side) string, skip func(*side) string) {
	ps, inspect, logs := h.newRow("API alone: ps", "s"), h.newRow("API alone: inspect", "s"), h.newRow("API alone: logs", "s")
	h.alternate(ctx, []*row{ps, inspect, logs}, 2*h.cfg.runs, skip, func(ctx context.Context, s *side) ([]float64, error) {
		get := func(path string) apiReq { return apiReq{http.MethodGet, path, ""} }
		name := "/containers/" + first(s)
		var out []float64
		for _, reqs := range [][]apiReq{
			{get("/containers/json")},
			{get(name + "/json")},
			{get(name + "/json"), get("/containers/{id}/logs?stdout=1&stderr=1")},
		} {
			t, _, err := apiTime(ctx, s, reqs...)
			if err != nil {
				return out, err
			}
			out = append(out, t)
		}
		return out, nil
	})
}
