package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A lane is a long-lived Lane stream that carries exchanges one after another, as an HTTP/1.1 connection
// kept alive does: the client sends a request head with the whole request body inline; the server runs the
// handler and answers with the response head, then body frames and a last frame, or with a head that holds
// the whole response; the lane is then idle again and goes back to the client's pool. Only a lane whose
// exchange ended cleanly on both sides is reused: an exchange abandoned by its caller (the body closed
// before its end, the request's context done) or broken by an error cancels its lane's stream, which ends
// the server's exchange's context too.
//
// Opening a gRPC stream costs more than an exchange on an open one, so short exchanges take lanes. Requests
// with a body of unknown length or larger than laneBodyMax, and upgrades, have an Exchange stream each.

// laneBodyMax is the largest request body sent inline on a lane.
const laneBodyMax = 1 << 20

// maxIdleLanes bounds the lanes a client keeps open while they are idle.
const maxIdleLanes = 16

// maxLaneHead bounds a lane's request head frame, body included: the server receives no larger message.
const maxLaneHead = ChunkSize + 1<<20 - 64

const (
	lanesUnknown  = iota
	lanesServed   // the plugin answered on a lane
	lanesUnserved // the plugin predates lanes
)

// Count of the lane streams clients opened, for tests.
var lanesOpened atomic.Int64

type lane struct {
	stream grpc.ClientStream
	cancel context.CancelFunc
}

// close ends an idle lane: the server sees the end of the stream between exchanges.
func (ln *lane) close() {
	_ = ln.stream.CloseSend()
	ln.cancel()
}

// laneRoundTrip runs an exchange on a lane. body is the whole request body (nil: none).
func (c *Client) laneRoundTrip(req *http.Request, body []byte) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	head := c.requestHead(req, body == nil, false)
	head.Timeout = deadlineLeft(ctx)
	msg, err := encodeRequestHead(head, body, false)
	if err != nil {
		return nil, err
	}
	if len(msg) > maxLaneHead {
		return c.exchangeRoundTrip(req, bodyReader(body))
	}
	for attempt := 0; ; attempt++ {
		var ln *lane
		if attempt == 0 {
			ln = c.idleLane()
		}
		resp, then, err := c.onLane(req, ln, msg)
		switch then {
		case laneRetry:
			if attempt == 0 {
				continue
			}
			return nil, err
		case laneFallback:
			return c.exchangeRoundTrip(req, bodyReader(body))
		}
		return resp, err
	}
}

func bodyReader(body []byte) io.ReadCloser {
	if body == nil {
		return nil
	}
	return io.NopCloser(bytes.NewReader(body))
}

// What to do after an exchange on a lane.
type laneNext int

const (
	laneDone     laneNext = iota
	laneRetry             // the request never reached the plugin: send it on a fresh lane
	laneFallback          // the plugin serves no lanes: send it on an Exchange stream
)

// onLane runs one exchange on ln, a lane from the pool, or on a fresh lane when ln is nil.
func (c *Client) onLane(req *http.Request, ln *lane, msg rawFrame) (*http.Response, laneNext, error) {
	ctx := req.Context()
	reused := ln != nil
	if !reused {
		laneCtx, cancel := context.WithCancel(context.Background())
		ln = &lane{cancel: cancel}
		// Until the lane is open, the request's context bounds the wait for the connection.
		stop := context.AfterFunc(ctx, cancel)
		stream, err := c.conn.NewStream(laneCtx, &laneDesc, lanePath, grpc.ForceCodecV2(codec))
		stop()
		if err != nil {
			cancel()
			if cerr := ctx.Err(); cerr != nil {
				return nil, laneDone, cerr
			}
			return nil, laneDone, wrapRPC(err)
		}
		ln.stream = stream
		lanesOpened.Add(1)
	}
	// The request's end abandons the exchange: its lane is cancelled, never reused. stop, once it returns
	// true, guarantees that this has not happened and will not.
	stop := context.AfterFunc(ctx, ln.cancel)

	sendErr := ln.stream.SendMsg(msg)
	first := new(inFrame)
	// After a failed send the stream is over, and receiving gives its status.
	err := ln.stream.RecvMsg(first)
	if err == nil && sendErr != nil {
		err = sendErr
	}
	if err != nil {
		stop()
		ln.cancel()
		if cerr := ctx.Err(); cerr != nil {
			return nil, laneDone, cerr
		}
		if !reused && status.Code(err) == codes.Unimplemented {
			c.lanes.Store(lanesUnserved)
			return nil, laneFallback, nil
		}
		// A lane that went bad while idle: the head was not sent, or the server ended the lane without an
		// error, which it does only between exchanges, before reading a head. Either way the request never
		// reached the plugin, and the other idle lanes are likely as dead.
		if reused && (sendErr != nil || err == io.EOF) {
			c.CloseIdleConnections()
			return nil, laneRetry, wrapRPC(err)
		}
		if err == io.EOF {
			err = fmt.Errorf("transport: the plugin ended a lane without answering: %w", io.ErrUnexpectedEOF)
		}
		return nil, laneDone, wrapRPC(err)
	}
	var rh responseHead
	inline, err := decodeResponseHead(first, &rh)
	if err != nil {
		stop()
		ln.cancel()
		return nil, laneDone, err
	}
	if !reused && c.lanes.Load() != lanesServed {
		c.lanes.Store(lanesServed)
	}
	resp := newResponse(req, &rh)
	switch {
	case rh.Status == http.StatusSwitchingProtocols:
		// The handler hijacked the exchange: the lane is its stream from now on, never reused. The
		// request's context still bounds it (stop is not called).
		ex := &exchange{stream: ln.stream, cancel: ln.cancel}
		ex.reader = &frameReader{pending: inline, recv: recvFromClient(ln.stream)}
		resp.Body = &upgradedBody{ex: ex}
	case rh.Complete:
		if stop() {
			c.putLane(ln)
		}
		b := &byteBody{}
		b.Reset(inline)
		resp.Body = b
	default:
		resp.Body = &laneBody{c: c, ln: ln, stop: stop,
			r: &frameReader{pending: inline, recv: recvFromClient(ln.stream)}}
	}
	return resp, laneDone, nil
}

// idleLane takes the most recently used idle lane, if there is one.
func (c *Client) idleLane() *lane {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.idle)
	if n == 0 {
		return nil
	}
	ln := c.idle[n-1]
	c.idle[n-1] = nil
	c.idle = c.idle[:n-1]
	return ln
}

// putLane returns a lane whose exchange ended cleanly to the pool, or closes it when the pool is full.
func (c *Client) putLane(ln *lane) {
	c.mu.Lock()
	if len(c.idle) < maxIdleLanes {
		c.idle = append(c.idle, ln)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	ln.close()
}

// CloseIdleConnections closes the idle lanes (http.Client.CloseIdleConnections calls it).
func (c *Client) CloseIdleConnections() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, ln := range idle {
		ln.close()
	}
}

// laneBody reads a response that streams on a lane. The lane goes back to the pool once the response's
// last frame has been read; Close before that, a read error or the request's end abandons it.
type laneBody struct {
	c    *Client
	ln   *lane
	stop func() bool
	r    *frameReader
	done atomic.Bool
}

func (b *laneBody) Read(p []byte) (int, error) {
	if b.done.Load() && !b.r.atEnd() {
		return 0, errClosedBody
	}
	n, err := b.r.Read(p)
	switch {
	case err == nil && b.r.atEnd():
		b.end(true) // the whole response is read: the lane need not wait for a read that gives io.EOF
	case err == io.EOF && b.r.ended:
		b.end(true)
	case err != nil:
		// Also io.EOF without the last frame: the stream ended (a hijacked exchange that answered other
		// than 101), which ends the body as it ends an Exchange stream's.
		b.end(false)
	}
	return n, err
}

func (b *laneBody) Close() error {
	b.end(false)
	return nil
}

func (b *laneBody) end(clean bool) {
	if !b.done.CompareAndSwap(false, true) {
		return
	}
	if b.stop() && clean {
		b.c.putLane(b.ln)
		return
	}
	b.ln.cancel()
}

var errClosedBody = fmt.Errorf("transport: read on a closed response body: %w", http.ErrBodyReadAfterClose)
