package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// Register serves h on s: every exchange stream becomes one call of h.ServeHTTP.
func Register(s grpc.ServiceRegistrar, h http.Handler) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: ServiceName,
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName:    exchangeDesc.StreamName,
			ServerStreams: true,
			ClientStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				return serveExchange(stream, h)
			},
		}},
		Metadata: "vice/transport",
	}, struct{}{})
}

func serveExchange(stream grpc.ServerStream, h http.Handler) error {
	ctx := stream.Context()
	first := new(inFrame)
	if err := stream.RecvMsg(first); err != nil {
		return err
	}
	var head requestHead
	inline, legacy, err := decodeRequestHead(first, &head)
	if err != nil {
		return err
	}
	reader := &frameReader{recv: recvFrom(stream), pending: inline}
	var body io.ReadCloser = http.NoBody
	if !head.NoBody {
		body = io.NopCloser(reader)
	} else {
		reader.ended = true
	}
	req, err := newRequest(ctx, &head, body)
	if err != nil {
		return err
	}
	w := &responseWriter{stream: stream, header: http.Header{}, reader: reader, legacy: legacy}
	h.ServeHTTP(w, req)
	if conn := w.hijacked(); conn != nil {
		// A hijacked exchange lives until the handler's connection is closed or the client goes away.
		select {
		case <-conn.closed:
		case <-ctx.Done():
		}
		return nil
	}
	return w.finish()
}

func recvFrom(stream grpc.ServerStream) func() (*inFrame, error) {
	return func() (*inFrame, error) {
		m := new(inFrame)
		return m, stream.RecvMsg(m)
	}
}

func newRequest(ctx context.Context, head *requestHead, body io.ReadCloser) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, head.Method, head.URL, body)
	if err != nil {
		return nil, fmt.Errorf("transport: request: %w", err)
	}
	req.Header = head.Header
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Host = head.Host
	req.ContentLength = head.Length
	req.RequestURI = head.URL
	req.RemoteAddr = "plugin-host"
	return req, nil
}

// errFinished is what a handler's writes get once it has returned.
var errFinished = errors.New("transport: write after the handler returned")

// responseWriter is the http.ResponseWriter of one exchange. The head is sent lazily so that a small
// response travels as a single frame.
type responseWriter struct {
	stream grpc.ServerStream
	header http.Header
	reader *frameReader
	legacy bool // the request's head was JSON, and so is the response's

	mu          sync.Mutex // serialises sends: the handler and a hijacked connection may both write
	status      int
	headSent    bool
	buf         []byte // body bytes not sent yet, at most responseBuffer
	conn        *hijackedConn
	finished    bool // the handler returned
	writeFailed error
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 && status >= 200 && !w.finished {
		w.status = status
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.finished:
		return 0, errFinished
	case w.conn != nil:
		return 0, http.ErrHijacked
	case w.writeFailed != nil:
		return 0, w.writeFailed
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if len(w.buf)+len(p) <= responseBuffer {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.sendBufLocked(); err != nil {
		return 0, err
	}
	if len(p) < responseBuffer {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	return w.sendLocked(p)
}

// Flush sends the head and whatever body is buffered.
func (w *responseWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished || w.conn != nil {
		return
	}
	_ = w.flushLocked()
}

func (w *responseWriter) flushLocked() error {
	if w.writeFailed != nil {
		return w.writeFailed
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if err := w.sendBufLocked(); err != nil {
		return err
	}
	if !w.headSent {
		return w.sendHeadLocked(nil)
	}
	return nil
}

func (w *responseWriter) sendBufLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.sendLocked(w.buf)
	w.buf = w.buf[:0]
	return err
}

// sendLocked sends p, with the head if it has not gone yet, then as data frames.
func (w *responseWriter) sendLocked(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), ChunkSize)
		var err error
		if !w.headSent {
			err = w.sendHeadLocked(p[:n])
		} else {
			err = w.stream.SendMsg(dataFrame(p[:n]))
		}
		if err != nil {
			w.writeFailed = err
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// sendHeadLocked sends the head, carrying body bytes with it when there are any.
func (w *responseWriter) sendHeadLocked(body []byte) error {
	w.headSent = true
	msg, err := encodeResponseHead(&responseHead{Status: w.status, Header: w.header}, body, w.legacy)
	if err == nil {
		err = w.stream.SendMsg(msg)
	}
	if err != nil {
		w.writeFailed = err
	}
	return err
}

// finish sends what remains of the response once the handler has returned; later writes fail. The end of
// the stream ends the response.
func (w *responseWriter) finish() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished = true
	return w.flushLocked()
}

func (w *responseWriter) hijacked() *hijackedConn {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn
}

// Upgrades reports that Hijack answers the exchange with status 101 itself, so a handler must not write a
// raw status line on the hijacked connection (sdk.Upgrade relies on this).
func (w *responseWriter) Upgrades() bool { return true }

// Hijack turns the exchange into a full-duplex byte stream. The head (status 101 unless the handler set
// another) is sent first; then the connection's writes are data frames and its reads are the client's.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		return nil, nil, http.ErrHijacked
	}
	if w.finished {
		return nil, nil, errFinished
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	if err := w.flushLocked(); err != nil {
		return nil, nil, err
	}
	if err := w.reader.skipToEnd(); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	c := &hijackedConn{w: w, closed: make(chan struct{})}
	w.conn = c
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// hijackedConn is the server's end of an upgraded exchange.
type hijackedConn struct {
	w         *responseWriter
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *hijackedConn) Read(p []byte) (int, error) { return c.w.reader.Read(p) }

func (c *hijackedConn) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), ChunkSize)
		if err := c.w.stream.SendMsg(dataFrame(p[:n])); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func (c *hijackedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *hijackedConn) LocalAddr() net.Addr              { return addr("plugin") }
func (c *hijackedConn) RemoteAddr() net.Addr             { return addr("plugin-host") }
func (c *hijackedConn) SetDeadline(time.Time) error      { return nil }
func (c *hijackedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *hijackedConn) SetWriteDeadline(time.Time) error { return nil }

type addr string

func (a addr) Network() string { return "vice-transport" }
func (a addr) String() string  { return string(a) }
