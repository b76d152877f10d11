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
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
)

// Register serves h on s: every Exchange stream becomes one call of h.ServeHTTP, every Lane stream as many
// calls as the client sends exchanges on it, one after another.
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
		}, {
			StreamName:    laneDesc.StreamName,
			ServerStreams: true,
			ClientStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				return serveLane(stream, h)
			},
		}},
		Metadata: "vice/transport",
	}, struct{}{})
}

// Counts of the streams served and of the lanes open, for tests.
var exchangeStreams, laneStreams, openLanes atomic.Int64

func serveExchange(stream grpc.ServerStream, h http.Handler) error {
	exchangeStreams.Add(1)
	ctx := stream.Context()
	head, inline, legacy, err := recvRequestHead(stream)
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
	req, err := newRequest(ctx, head, body)
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

// serveLane serves the exchanges of a lane one after another until the client closes it. A lane ends
// without an error only between exchanges (or after a hijacked one), which the client relies on.
func serveLane(stream grpc.ServerStream, h http.Handler) error {
	laneStreams.Add(1)
	openLanes.Add(1)
	defer openLanes.Add(-1)
	for {
		head, inline, _, err := recvRequestHead(stream)
		if err == io.EOF {
			return nil // the client closed the lane
		}
		if err != nil {
			return err
		}
		last, err := serveLaneExchange(stream, h, head, inline)
		if err != nil || last {
			return err
		}
	}
}

// recvRequestHead receives the head frame of a stream's next request: the head, the body bytes that came
// with it, and whether it was a JSON head. The stream's own error (io.EOF at its end) is returned as it is.
func recvRequestHead(stream grpc.ServerStream) (*requestHead, []byte, bool, error) {
	first := new(inFrame)
	if err := stream.RecvMsg(first); err != nil {
		return nil, nil, false, err
	}
	head := new(requestHead)
	inline, legacy, err := decodeRequestHead(first, head)
	if err != nil {
		return nil, nil, false, err
	}
	return head, inline, legacy, nil
}

// serveLaneExchange serves one exchange of a lane; last reports that it was hijacked and ended the lane.
func serveLaneExchange(stream grpc.ServerStream, h http.Handler, head *requestHead, inline []byte) (last bool, err error) {
	// The exchange's context ends with the lane's (the client cancels a lane to abandon its exchange), at
	// the request's deadline, and when the handler has returned, as net/http's does.
	var ctx context.Context
	var cancel context.CancelFunc
	if head.Timeout > 0 {
		ctx, cancel = context.WithTimeout(stream.Context(), head.Timeout)
	} else {
		ctx, cancel = context.WithCancel(stream.Context())
	}
	defer cancel()
	// The body came with the head. The stream is read again for this exchange only if it is hijacked.
	reader := &frameReader{recv: recvFrom(stream), pending: inline, ended: true}
	var body io.ReadCloser = http.NoBody
	if !head.NoBody {
		body = io.NopCloser(reader)
	}
	req, err := newRequest(ctx, head, body)
	if err != nil {
		return true, err
	}
	w := &responseWriter{stream: stream, header: http.Header{}, reader: reader, lane: true}
	h.ServeHTTP(w, req)
	if conn := w.hijacked(); conn != nil {
		select {
		case <-conn.closed:
		case <-ctx.Done():
		}
		return true, nil
	}
	return false, w.finish()
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

// errFinished is what a handler's writes get once it has returned: on a lane, the stream already carries
// the next exchange.
var errFinished = errors.New("transport: write after the handler returned")

// responseWriter is the http.ResponseWriter of one exchange. The head is sent lazily so that a small
// response travels as a single frame.
type responseWriter struct {
	stream grpc.ServerStream
	header http.Header
	reader *frameReader
	legacy bool // the request's head was JSON, and so is the response's
	lane   bool // on a lane, the end of the response is a frame, not the end of the stream

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
		return w.sendHeadLocked(nil, false)
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
			err = w.sendHeadLocked(p[:n], false)
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
func (w *responseWriter) sendHeadLocked(body []byte, complete bool) error {
	w.headSent = true
	msg, err := encodeResponseHead(&responseHead{Status: w.status, Header: w.header, Complete: complete}, body, w.legacy)
	if err == nil {
		err = w.stream.SendMsg(msg)
	}
	if err != nil {
		w.writeFailed = err
	}
	return err
}

// finish ends the response once the handler has returned; later writes fail. On an Exchange stream the
// end of the stream ends the response. On a lane a response that was not sent yet goes as one head frame
// that says it is complete, and one that was ends with a last frame.
func (w *responseWriter) finish() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished = true
	if !w.lane {
		return w.flushLocked()
	}
	if w.writeFailed != nil {
		return w.writeFailed
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.headSent {
		return w.sendHeadLocked(w.buf, true)
	}
	// The buffer holds at most responseBuffer bytes, which fit in one frame.
	err := w.stream.SendMsg(kindFrame(kindLast, w.buf))
	w.buf = nil
	return err
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
// A hijacked exchange on a lane ends the lane.
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
