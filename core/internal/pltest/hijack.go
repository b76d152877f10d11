package pltest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Upgrades tells sdk.Upgrade that Hijack answers 101 itself, as the plugin transport does.
func (r *pipeResponse) Upgrades() bool { return true }

// Hijack answers 101 and turns the exchange into a full-duplex stream: the connection's writes reach the
// response body, its reads are what the client writes to that body.
func (r *pipeResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if r.hijacked != nil {
		return nil, nil, http.ErrHijacked
	}
	r.WriteHeader(http.StatusSwitchingProtocols)
	c := &hijackedConn{in: r.upgradeIn, out: r.pw, closed: make(chan struct{})}
	r.hijacked = c
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

// hijackedConn is the handler's end of an upgraded exchange.
type hijackedConn struct {
	in     *io.PipeReader
	out    *io.PipeWriter
	once   sync.Once
	closed chan struct{}
}

func (c *hijackedConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *hijackedConn) Write(p []byte) (int, error) { return c.out.Write(p) }

func (c *hijackedConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.in.Close()
		c.out.Close()
	})
	return nil
}

func (c *hijackedConn) LocalAddr() net.Addr              { return addr("backend") }
func (c *hijackedConn) RemoteAddr() net.Addr             { return addr("core") }
func (c *hijackedConn) SetDeadline(time.Time) error      { return nil }
func (c *hijackedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *hijackedConn) SetWriteDeadline(time.Time) error { return nil }

type addr string

func (a addr) Network() string { return "pltest" }
func (a addr) String() string  { return string(a) }

// upgradedBody is the client's end: reads are the handler's output, writes its input, CloseWrite its EOF.
type upgradedBody struct {
	*cancelBody
	in *io.PipeWriter
}

func (b *upgradedBody) Write(p []byte) (int, error) { return b.in.Write(p) }
func (b *upgradedBody) CloseWrite() error           { return b.in.Close() }

func (b *upgradedBody) Close() error {
	b.in.Close()
	return b.cancelBody.Close()
}
