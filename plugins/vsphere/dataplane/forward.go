package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Forwarding limits.
const (
	dialTimeout = 10 * time.Second
	udpIdle     = 60 * time.Second
	udpBuffer   = 64 << 10
)

// ErrPortAllocated says a published port's address is taken, on the VCH or by another process.
var ErrPortAllocated = errors.New("port is already allocated")

// Binding is a port published on the VCH: its address there, and the container's address it goes to.
type Binding struct {
	Proto  string         // "tcp" or "udp"
	Host   netip.AddrPort // a port of 0 picks a free one
	Target netip.AddrPort
}

func (b Binding) String() string { return fmt.Sprintf("%s %s->%s", b.Proto, b.Host, b.Target) }

// forwarder is one published port.
type forwarder interface {
	bound() netip.AddrPort
	close()
}

// publish listens on b.Host in the endpoint's own namespace and forwards to b.Target, dialled in ns.
func publish(b Binding, ns *Namespace, log *slog.Logger) (forwarder, error) {
	switch b.Proto {
	case "tcp":
		l, err := net.Listen("tcp4", b.Host.String())
		if err != nil {
			return nil, listenError(b, err)
		}
		f := &tcpForwarder{l: l, target: b.Target, ns: ns, log: log, conns: map[net.Conn]struct{}{}}
		f.wg.Add(1)
		go f.serve()
		return f, nil
	case "udp":
		c, err := net.ListenPacket("udp4", b.Host.String())
		if err != nil {
			return nil, listenError(b, err)
		}
		f := &udpForwarder{c: c, target: b.Target, ns: ns, log: log, sessions: map[string]*udpSession{}}
		f.wg.Add(1)
		go f.serve()
		return f, nil
	}
	return nil, fmt.Errorf("protocol %q", b.Proto)
}

func listenError(b Binding, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("Bind for %s failed: %w", b.Host, ErrPortAllocated)
	}
	return fmt.Errorf("publish %s: %w", b.Host, err)
}

type tcpForwarder struct {
	l      net.Listener
	target netip.AddrPort
	ns     *Namespace
	log    *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func (f *tcpForwarder) bound() netip.AddrPort { return f.l.Addr().(*net.TCPAddr).AddrPort() }

func (f *tcpForwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.relay(c)
		}()
	}
}

// relay joins a client's connection with one to the container, each side's end closing the other's writes.
func (f *tcpForwarder) relay(client net.Conn) {
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	backend, err := f.ns.Dial(ctx, "tcp4", f.target.String())
	cancel()
	if err != nil {
		f.log.Debug("published port: the container does not answer", "target", f.target, "err", err)
		return
	}
	defer backend.Close()
	if !f.track(client, backend) {
		return
	}
	defer f.untrack(client, backend)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(backend, client)
	go pipe(client, backend)
	<-done
	<-done
}

// track records a relay's connections, so close ends them; false once closed.
func (f *tcpForwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *tcpForwarder) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.conns, c)
	}
}

func (f *tcpForwarder) close() {
	f.l.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}

type udpForwarder struct {
	c        net.PacketConn
	target   netip.AddrPort
	ns       *Namespace
	log      *slog.Logger
	wg       sync.WaitGroup
	mu       sync.Mutex
	sessions map[string]*udpSession
	closed   bool
}

// udpSession is one client's flow: a socket connected to the container, whose answers go back to the client.
type udpSession struct {
	backend net.Conn
	last    time.Time
}

func (f *udpForwarder) bound() netip.AddrPort { return f.c.LocalAddr().(*net.UDPAddr).AddrPort() }

func (f *udpForwarder) serve() {
	defer f.wg.Done()
	buf := make([]byte, udpBuffer)
	for {
		n, from, err := f.c.ReadFrom(buf)
		if err != nil {
			return
		}
		s, err := f.session(from)
		if err != nil {
			f.log.Debug("published port: the container does not answer", "target", f.target, "err", err)
			continue
		}
		_, _ = s.backend.Write(buf[:n])
	}
}

// session is from's flow, made on its first datagram; idle flows end after udpIdle.
func (f *udpForwarder) session(from net.Addr) (*udpSession, error) {
	key := from.String()
	f.mu.Lock()
	if s := f.sessions[key]; s != nil {
		s.last = time.Now()
		f.mu.Unlock()
		return s, nil
	}
	f.mu.Unlock()
	backend, err := f.ns.Dial(context.Background(), "udp4", f.target.String())
	if err != nil {
		return nil, err
	}
	s := &udpSession{backend: backend, last: time.Now()}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		backend.Close()
		return nil, net.ErrClosed
	}
	f.sessions[key] = s
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.answers(key, from, s)
	}()
	return s, nil
}

// answers sends the container's datagrams of one flow back to its client until the flow is idle.
func (f *udpForwarder) answers(key string, to net.Addr, s *udpSession) {
	defer func() {
		f.mu.Lock()
		if f.sessions[key] == s {
			delete(f.sessions, key)
		}
		f.mu.Unlock()
		s.backend.Close()
	}()
	buf := make([]byte, udpBuffer)
	for {
		_ = s.backend.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := s.backend.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				f.mu.Lock()
				idle := time.Since(s.last) >= udpIdle
				f.mu.Unlock()
				if !idle {
					continue
				}
			}
			return
		}
		if _, err := f.c.WriteTo(buf[:n], to); err != nil {
			return
		}
	}
}

func (f *udpForwarder) close() {
	f.c.Close()
	f.mu.Lock()
	f.closed = true
	for _, s := range f.sessions {
		s.backend.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
