package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// The serial line's synchronisation, before SSH. A VM's network-backed serial port connects to the VCH when
// the VM powers on, long before the tether opens the port: what the VCH sent then would be lost (or sit in
// the port's buffers, or be read by whatever had the port open). And a serial line never says it hung up: a
// tether may still hold the SSH session of a VCH that went away when a new one connects. So the guest speaks
// first, and repeats itself:
//
//   - the tether, each time it is ready for a session, sends SerialReady every SerialReadyInterval until it
//     reads SerialGo, ignoring everything else; the bytes after SerialGo are the VCH's SSH;
//   - the VCH, on each new connection, reads until SerialReady, ignoring everything else, answers SerialGo
//     once, and starts SSH at the tether's SSH banner ("SSH-2.0-"), skipping the SerialReady lines sent
//     meanwhile. While it waits it sends SerialPoke every SerialPokeInterval: a tether waiting for SerialGo
//     ignores it, and in a stale SSH session it is a corrupt packet, which ends the session, so the tether
//     offers a new one.
const (
	SerialReady         = "\r\nvice-tether-ready\r\n"
	SerialGo            = "vice-vch-go\r\n"
	SerialPoke          = "\r\nvice-vch-poke\r\n"
	SerialReadyInterval = time.Second
	SerialPokeInterval  = 5 * time.Second

	// sshBanner starts the SSH version line of an SSH-2 peer (RFC 4253 §4.2).
	sshBanner = "SSH-2.0-"
	// maxPreamble bounds what the VCH reads between SerialGo and the banner.
	maxPreamble = 64 << 10
)

// AwaitVCH is the tether's end: it offers a session on conn until the VCH accepts it, then returns a
// connection whose reads begin with the VCH's SSH. ctx ends the wait; conn must support deadlines.
func AwaitVCH(ctx context.Context, conn net.Conn) (net.Conn, error) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var seen []byte // the last bytes read, enough to find SerialGo across reads
	buf := make([]byte, 4096)
	for {
		if _, err := io.WriteString(conn, SerialReady); err != nil {
			return nil, fmt.Errorf("serial line: offer a session: %w", ctxOr(ctx, err))
		}
		_ = conn.SetReadDeadline(time.Now().Add(SerialReadyInterval))
		for {
			n, err := conn.Read(buf)
			seen = append(seen, buf[:n]...)
			if i := bytes.Index(seen, []byte(SerialGo)); i >= 0 {
				_ = conn.SetDeadline(time.Time{})
				return &prefixedConn{Conn: conn, prefix: seen[i+len(SerialGo):]}, nil
			}
			seen = keepTail(seen, len(SerialGo)-1)
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				break // offer again
			}
			if err != nil {
				return nil, fmt.Errorf("serial line: wait for the VCH: %w", ctxOr(ctx, err))
			}
		}
	}
}

// AwaitGuest is the VCH's end: it waits, as long as ctx lasts, for the guest to offer a session, accepts it
// and returns a connection whose reads begin with the tether's SSH banner. A guest that offers but does not
// start SSH within banner is waited for again. conn must support deadlines.
func AwaitGuest(ctx context.Context, conn net.Conn, banner time.Duration) (net.Conn, error) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var seen []byte
	buf := make([]byte, 4096)
	for {
		// Wait for an offer, poking now and then.
		for {
			_ = conn.SetReadDeadline(time.Now().Add(SerialPokeInterval))
			n, err := conn.Read(buf)
			seen = append(seen, buf[:n]...)
			if i := bytes.Index(seen, []byte(SerialReady)); i >= 0 {
				seen = append([]byte(nil), seen[i+len(SerialReady):]...)
				break
			}
			seen = keepTail(seen, len(SerialReady)-1)
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				if _, err := io.WriteString(conn, SerialPoke); err != nil {
					return nil, fmt.Errorf("serial line: poke the guest: %w", ctxOr(ctx, err))
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("serial line: wait for the guest: %w", ctxOr(ctx, err))
			}
		}
		if _, err := io.WriteString(conn, SerialGo); err != nil {
			return nil, fmt.Errorf("serial line: accept the session: %w", ctxOr(ctx, err))
		}
		// Then for the banner, skipping the offers sent meanwhile.
		_ = conn.SetReadDeadline(time.Now().Add(banner))
		for {
			if i := bytes.Index(seen, []byte(sshBanner)); i >= 0 {
				_ = conn.SetDeadline(time.Time{})
				return &prefixedConn{Conn: conn, prefix: seen[i:]}, nil
			}
			if len(seen) > maxPreamble {
				seen = keepTail(seen, len(SerialReady)-1)
				break // not a tether speaking: wait for an offer again
			}
			n, err := conn.Read(buf)
			seen = append(seen, buf[:n]...)
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				break // the answer was lost: wait for the next offer
			}
			if err != nil && n == 0 {
				return nil, fmt.Errorf("serial line: wait for the tether's SSH banner: %w", ctxOr(ctx, err))
			}
		}
	}
}

// keepTail keeps the last n bytes of b.
func keepTail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return append(b[:0], b[len(b)-n:]...)
}

// ctxOr is ctx's error once it has ended (a deadline set to wake a read is not the failure), else err.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// prefixedConn reads prefix, then the connection.
type prefixedConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixedConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
