package pltest

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// Transport carries requests to h in-process. Response bodies stream: the client reads what the handler has
// written and flushed so far; closing the body cancels the handler's request context.
func Transport(h http.Handler) http.RoundTripper { return handlerTransport{h: h} }

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	sreq := req.Clone(ctx)
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	sreq.RequestURI = req.URL.RequestURI()
	pr, pw := io.Pipe()
	rw := &pipeResponse{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	upr, upw := io.Pipe() // the client's bytes after an upgrade
	rw.upgradeIn = upr
	go func() {
		defer func() {
			rw.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200
			pw.Close()
		}()
		t.h.ServeHTTP(rw, sreq)
	}()
	select {
	case <-rw.ready:
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	var body io.ReadCloser = &cancelBody{ReadCloser: pr, cancel: cancel}
	if rw.status == http.StatusSwitchingProtocols {
		body = &upgradedBody{cancelBody: body.(*cancelBody), in: upw}
	} else {
		upw.Close()
	}
	return &http.Response{
		Status:     http.StatusText(rw.status),
		StatusCode: rw.status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     rw.sent,
		Body:       body,
		Request:    req,
	}, nil
}

// pipeResponse is the handler's side of the pipe.
type pipeResponse struct {
	header http.Header
	sent   http.Header
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	status int

	upgradeIn *io.PipeReader
	hijacked  *hijackedConn
}

func (r *pipeResponse) Header() http.Header { return r.header }

func (r *pipeResponse) WriteHeader(status int) {
	r.once.Do(func() {
		r.status = status
		r.sent = r.header.Clone()
		close(r.ready)
	})
}

func (r *pipeResponse) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.pw.Write(p)
}

// Flush is a no-op: every Write already reaches the reader.
func (r *pipeResponse) Flush() {}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	b.cancel()
	return b.ReadCloser.Close()
}
