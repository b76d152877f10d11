package dockerapi

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// execRoutes are Docker's exec group.
func (a *API) execRoutes() []route {
	return []route{
		newRoute(http.MethodPost, "/containers/{id:.*}/exec", a.createExec),
		newRoute(http.MethodPost, "/exec/{id}/start", a.startExec),
		newRoute(http.MethodPost, "/exec/{id}/resize", a.resizeExec),
		newRoute(http.MethodGet, "/exec/{id}/json", a.inspectExec),
	}
}

// createExec is POST /containers/{id}/exec; it answers 201 with the exec's ID.
func (a *API) createExec(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecCreateRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	id, err := a.eng.Containers().ExecCreate(r.Context(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, common.IDResponse{ID: id})
}

// startExec is POST /exec/{id}/start. Detached, it answers 200 once the process runs; otherwise, as dockerd,
// it hijacks the connection and answers with a raw status line (101 UPGRADED when the client asked to
// upgrade, else 200), then carries the client's stdin one way and the process's output the other.
func (a *API) startExec(w http.ResponseWriter, r *http.Request) error {
	var req container.ExecStartRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	x, err := a.eng.Containers().ExecStart(r.Context(), r.PathValue("id"), containers.ExecStartOptions{Detach: req.Detach})
	if err != nil {
		return err
	}
	if x.Detached() {
		if err := x.RunDetached(r.Context()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	conn, in, err := hijack(w, r, streamType(x.Tty()))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := x.Serve(r.Context(), in, conn); err != nil {
		a.log.Debug("exec ended", "exec", r.PathValue("id"), "err", err)
	}
	return nil
}

// hijack takes over the connection for a stream and writes dockerd's status line and headers. The input is
// the connection itself after what the server had buffered: reading through the server's reader would
// cancel the request's context at the client's half-close.
func hijack(w http.ResponseWriter, r *http.Request, contentType string) (net.Conn, io.Reader, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("this connection cannot be hijacked: %w", errdefs.ErrNotImplemented)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack the connection: %w", err)
	}
	head := "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n"
	if _, upgrade := r.Header["Upgrade"]; upgrade {
		head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
	}
	if _, err := fmt.Fprintf(conn, head, contentType); err != nil {
		conn.Close()
		return nil, nil, err
	}
	var in io.Reader = conn
	if n := buf.Reader.Buffered(); n > 0 {
		early, _ := buf.Reader.Peek(n)
		in = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
	}
	return conn, in, nil
}

// resizeExec is POST /exec/{id}/resize?h=&w=.
func (a *API) resizeExec(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	h, herr := strconv.ParseInt(q.Get("h"), 10, 64)
	wd, werr := strconv.ParseInt(q.Get("w"), 10, 64)
	if herr != nil || werr != nil || h < 0 || wd < 0 {
		return fmt.Errorf("invalid resize parameters h=%q w=%q: %w", q.Get("h"), q.Get("w"), errdefs.ErrInvalid)
	}
	if err := a.eng.Containers().ExecResize(r.Context(), r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// inspectExec is GET /exec/{id}/json.
func (a *API) inspectExec(w http.ResponseWriter, r *http.Request) error {
	resp, err := a.eng.Containers().ExecInspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}
