package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrUnavailable is returned (wrapped) when the exchange could not reach the plugin.
var ErrUnavailable = errors.New("plugin unavailable")

// Client is an http.RoundTripper whose requests are exchanges on a plugin's gRPC connection. Exchanges
// whose request body is small and of known length, and that ask for no upgrade, ride on lanes (lane.go);
// the others have a stream each.
type Client struct {
	conn grpc.ClientConnInterface

	lanes atomic.Int32 // whether the plugin serves lanes: lanesUnknown, lanesServed or lanesUnserved

	mu   sync.Mutex
	idle []*lane // most recently used last
}

var _ http.RoundTripper = (*Client)(nil)

// NewClient returns a RoundTripper over conn.
func NewClient(conn grpc.ClientConnInterface) *Client { return &Client{conn: conn} }

// RoundTrip runs one exchange. A 101 response's Body is an io.ReadWriteCloser (as net/http gives for
// upgrades) that also has CloseWrite, to half-close the stream towards the plugin.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.lanes.Load() != lanesUnserved && !isUpgrade(req) {
		if body, ok, err := inlineBody(req); err != nil {
			return nil, err
		} else if ok {
			return c.laneRoundTrip(req, body)
		}
	}
	var body io.ReadCloser
	if req.Body != nil && req.Body != http.NoBody {
		body = req.Body
	}
	return c.exchangeRoundTrip(req, body)
}

// exchangeRoundTrip runs an exchange on a stream of its own. body is the request's body (nil: none).
func (c *Client) exchangeRoundTrip(req *http.Request, body io.ReadCloser) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	stream, err := c.conn.NewStream(ctx, &exchangeDesc, exchangePath, grpc.ForceCodecV2(codec))
	if err != nil {
		cancel()
		closeBody(body)
		return nil, wrapRPC(err)
	}
	upgrade := isUpgrade(req)
	head := c.requestHead(req, body == nil, upgrade)
	ex := &exchange{stream: stream, cancel: cancel}
	// A plugin not known to serve lanes may predate binary heads.
	if err := ex.sendRequest(body, head, upgrade, c.lanes.Load() != lanesServed); err != nil {
		cancel()
		return nil, err
	}

	first := new(inFrame)
	if err := stream.RecvMsg(first); err != nil {
		cancel()
		return nil, wrapRPC(err)
	}
	var rh responseHead
	inline, err := decodeResponseHead(first, &rh)
	if err != nil {
		cancel()
		return nil, err
	}
	ex.reader = &frameReader{pending: inline, recv: recvFromClient(stream)}
	resp := newResponse(req, &rh)
	if rh.Status == http.StatusSwitchingProtocols {
		resp.Body = &upgradedBody{ex: ex}
	} else {
		resp.Body = &responseBody{ex: ex}
	}
	return resp, nil
}

func (c *Client) requestHead(req *http.Request, noBody, upgrade bool) *requestHead {
	return &requestHead{
		Method:  req.Method,
		URL:     req.URL.RequestURI(),
		Host:    req.Host,
		Header:  req.Header,
		Length:  req.ContentLength,
		NoBody:  noBody,
		Upgrade: upgrade,
	}
}

func newResponse(req *http.Request, rh *responseHead) *http.Response {
	if rh.Header == nil {
		rh.Header = http.Header{}
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rh.Status, http.StatusText(rh.Status)),
		StatusCode:    rh.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rh.Header,
		ContentLength: -1,
		Request:       req,
	}
}

func recvFromClient(stream grpc.ClientStream) func() (*inFrame, error) {
	return func() (*inFrame, error) {
		m := new(inFrame)
		if err := stream.RecvMsg(m); err != nil {
			return nil, wrapRPC(err)
		}
		return m, nil
	}
}

// sendRequest sends the head with the first body bytes, then streams the rest of the body. For an
// ordinary request the stream is half-closed at the end of the body; an upgrade keeps it open.
func (ex *exchange) sendRequest(body io.ReadCloser, head *requestHead, upgrade, legacy bool) error {
	msg, err := encodeRequestHead(head, nil, legacy)
	if err != nil {
		closeBody(body)
		return err
	}
	if err := ex.send(msg); err != nil {
		closeBody(body)
		return err
	}
	if body == nil {
		if !upgrade {
			return wrapRPC(ex.stream.CloseSend())
		}
		return nil
	}
	// The body streams concurrently with the response, as with HTTP/2: a handler may answer early.
	go func() {
		defer closeBody(body)
		// The body is read into a pooled frame, which is sent as it is when the read was large and copied
		// into a frame of its own size otherwise (the pooled one is then kept for the next read).
		var buf *[]byte
		defer func() {
			if buf != nil {
				framePool.Put(buf)
			}
		}()
		for {
			if buf == nil {
				buf = framePool.Get(1 + ChunkSize)
				(*buf)[0] = kindData
			}
			n, rerr := body.Read((*buf)[1:])
			if n > 0 {
				var msg any
				if n < poolMin {
					msg = dataFrame((*buf)[1 : 1+n])
				} else {
					*buf = (*buf)[:1+n]
					msg, buf = &outFrame{buf: buf}, nil
				}
				if ex.send(msg) != nil {
					return
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				ex.cancel()
				return
			}
		}
		if ex.send(endFrame) != nil || upgrade {
			return
		}
		_ = ex.closeSend()
	}()
	return nil
}

func closeBody(body io.Closer) {
	if body != nil {
		_ = body.Close()
	}
}

func isUpgrade(req *http.Request) bool {
	for _, v := range req.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// exchange is the client's side of one stream.
type exchange struct {
	stream grpc.ClientStream
	cancel context.CancelFunc
	reader *frameReader

	sendMu     sync.Mutex
	sendClosed bool
}

func (ex *exchange) send(msg any) error {
	ex.sendMu.Lock()
	defer ex.sendMu.Unlock()
	if ex.sendClosed {
		return io.ErrClosedPipe
	}
	return wrapRPC(ex.stream.SendMsg(msg))
}

func (ex *exchange) closeSend() error {
	ex.sendMu.Lock()
	defer ex.sendMu.Unlock()
	if ex.sendClosed {
		return nil
	}
	ex.sendClosed = true
	return wrapRPC(ex.stream.CloseSend())
}

// responseBody reads the response; Close abandons the exchange.
type responseBody struct{ ex *exchange }

func (b *responseBody) Read(p []byte) (int, error) { return b.ex.reader.Read(p) }
func (b *responseBody) Close() error               { b.ex.cancel(); return nil }

// upgradedBody is the client's end of a hijacked exchange.
type upgradedBody struct{ ex *exchange }

func (b *upgradedBody) Read(p []byte) (int, error) { return b.ex.reader.Read(p) }

func (b *upgradedBody) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), ChunkSize)
		if err := b.ex.send(dataFrame(p[:n])); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// CloseWrite tells the plugin that no more bytes will come (its reads see io.EOF).
func (b *upgradedBody) CloseWrite() error { return b.ex.closeSend() }

func (b *upgradedBody) Close() error { b.ex.cancel(); return nil }

// wrapRPC turns gRPC transport failures into ErrUnavailable and the end of a stream into io.EOF.
func wrapRPC(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", ErrUnavailable, st.Message())
	case codes.Canceled:
		if strings.Contains(st.Message(), "client connection is closing") {
			// The host closed its connection to a plugin it stopped.
			return fmt.Errorf("%w: %s", ErrUnavailable, st.Message())
		}
		return fmt.Errorf("%s: %w", st.Message(), context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", st.Message(), context.DeadlineExceeded)
	}
	return err
}

// inlineBody reads the body of a request that may ride on a lane: one without a body or with a known
// length up to laneBodyMax, read here in full. ok is false for other requests, whose body is left unread.
func inlineBody(req *http.Request) (body []byte, ok bool, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true, nil
	}
	n := req.ContentLength
	if n <= 0 || n > laneBodyMax {
		return nil, false, nil // unknown (a client request's 0 with a body is unknown) or large
	}
	defer req.Body.Close()
	body = make([]byte, n)
	got, err := io.ReadFull(req.Body, body)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return nil, false, fmt.Errorf("http: ContentLength=%d with Body length %d", n, got)
	}
	if err != nil {
		return nil, false, err
	}
	return body, true, nil
}

// deadlineLeft is what remains of ctx's deadline, 0 for none.
func deadlineLeft(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(d), time.Nanosecond)
}

// byteBody is a response body that came in full with the head.
type byteBody struct{ bytes.Reader }

func (*byteBody) Close() error { return nil }
