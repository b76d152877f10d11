package dockerapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// attachContainer is POST /containers/{id}/attach?stream=&logs=&stdin=&stdout=&stderr=&detachKeys=. As
// Docker does, it hijacks the connection and answers with a raw status line: 101 UPGRADED when the client
// asked to upgrade, else 200, with the stream's media type; the connection then carries the client's stdin
// one way and the container's output the other until the output ends.
func (a *API) attachContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	att, err := a.eng.Containers().Attach(r.Context(), r.PathValue("id"), containers.AttachOptions{
		Stream: boolValue(q.Get("stream")), Logs: boolValue(q.Get("logs")), Stdin: boolValue(q.Get("stdin")),
		Stdout: boolValue(q.Get("stdout")), Stderr: boolValue(q.Get("stderr")), DetachKeys: q.Get("detachKeys"),
	})
	if err != nil {
		return err
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		att.Close()
		return fmt.Errorf("this connection cannot be hijacked for attach: %w", errdefs.ErrNotImplemented)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		att.Close()
		return fmt.Errorf("hijack the connection: %w", err)
	}
	defer conn.Close()
	head := "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n"
	if _, upgrade := r.Header["Upgrade"]; upgrade {
		head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
	}
	if _, err := fmt.Fprintf(conn, head, streamType(att.Tty())); err != nil {
		att.Close()
		return nil
	}
	// Read the connection itself (after what the server had buffered): reading through the server's reader
	// would cancel the request's context at the client's half-close.
	var in io.Reader = conn
	if n := buf.Reader.Buffered(); n > 0 {
		early, _ := buf.Reader.Peek(n)
		in = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
	}
	if err := att.Serve(r.Context(), in, conn); err != nil {
		a.log.Debug("attach ended", "container", r.PathValue("id"), "err", err)
	}
	return nil
}
