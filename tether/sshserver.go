package tether

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

const (
	// handshakeTimeout bounds the SSH handshake once the VCH has answered the offer.
	handshakeTimeout = 30 * time.Second
	// keepAliveInterval and keepAliveTimeout: how often the VCH is asked whether it is still there, and how
	// long its answer may take.
	keepAliveInterval = 15 * time.Second
	keepAliveTimeout  = 45 * time.Second
)

// controller is what the control channel acts on.
type controller interface {
	Signal(sig unix.Signal) error
	Resize(rows, cols uint16) error
}

// requestHandler answers one global request: whether it succeeded, and the reply's payload.
type requestHandler func(payload []byte) (ok bool, reply []byte)

// sshServer serves the VCH's SSH sessions on the serial line, one per accepted connection.
type sshServer struct {
	log     *slog.Logger
	id      string
	config  *ssh.ServerConfig
	hub     *hub
	control controller
	// requests answers global requests by name (top, stats, the exec sessions' status and control).
	requests map[string]requestHandler
	// sessions serves wire.ChannelSession; nil rejects them.
	sessions func(ctx context.Context, nc ssh.NewChannel)
	// archive serves wire.ChannelArchive; nil rejects them.
	archive func(ctx context.Context, nc ssh.NewChannel)

	connsMu sync.Mutex
	conns   map[*ssh.ServerConn]struct{}
	// lastStatus is the payload of the last wire.RequestStatus, sent again to each connection made later: a
	// status written just before the VCH connected still reaches it.
	lastStatus []byte

	// answering counts the control requests being handled, until their replies are written.
	answering inflight
}

// inflight counts work under way and lets a caller wait for none to be.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; made by a waiter
}

func (f *inflight) begin() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// wait waits, at most d, for nothing to be under way; it reports whether nothing is.
func (f *inflight) wait(d time.Duration) bool {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return true
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-time.After(d):
		return false
	}
}

// newSSHServer makes a server with a host key generated at boot: the line is private to the VCH, which
// authenticates the containerVM by the ID it answers, not by key.
func newSSHServer(log *slog.Logger, id string, h *hub, c controller) (*sshServer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	return &sshServer{log: log, id: id, config: cfg, hub: h, control: c, requests: map[string]requestHandler{},
		conns: map[*ssh.ServerConn]struct{}{}}, nil
}

// broadcast sends a global request, without waiting for a reply, on every connection open now. The channel
// it returns is closed once every send has ended (written to its line, or failed).
func (s *sshServer) broadcast(name string, payload []byte) <-chan struct{} {
	s.connsMu.Lock()
	conns := s.openConns()
	s.connsMu.Unlock()
	return sendAll(conns, name, payload)
}

// notifyStatus sends wire.RequestStatus like broadcast, and keeps payload for the connections made later.
func (s *sshServer) notifyStatus(payload []byte) <-chan struct{} {
	s.connsMu.Lock()
	s.lastStatus = payload
	conns := s.openConns()
	s.connsMu.Unlock()
	return sendAll(conns, wire.RequestStatus, payload)
}

// openConns lists the connections; the caller holds connsMu.
func (s *sshServer) openConns() []*ssh.ServerConn {
	conns := make([]*ssh.ServerConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// sendAll sends a global request without reply on each of conns, side by side (one stuck line does not hold
// up the others); the channel it returns is closed once every send has ended.
func sendAll(conns []*ssh.ServerConn, name string, payload []byte) <-chan struct{} {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = c.SendRequest(name, false, payload)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// Serve accepts connections until ctx ends or the listener fails; each runs on its own, so a dropped
// connection affects nothing but itself.
func (s *sshServer) Serve(ctx context.Context, l net.Listener) error {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("serial accept: %w", err)
		}
		go s.serveConn(ctx, conn)
	}
}

func (s *sshServer) serveConn(ctx context.Context, conn net.Conn) {
	// The VCH may have connected long before this offer (a VM's serial line connects at power-on), or may be
	// gone: the session starts when the VCH answers (wire's serial synchronisation).
	line, err := wire.AwaitVCH(ctx, conn)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("serial line", "err", err)
			time.Sleep(wire.SerialReadyInterval) // a line that fails at once is not retried in a tight loop
		}
		conn.Close()
		return
	}
	_ = line.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(line, s.config)
	if err != nil {
		s.log.Warn("ssh handshake", "err", err)
		conn.Close()
		return
	}
	_ = line.SetDeadline(time.Time{})
	s.log.Info("vch connected")
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	defer stop()
	ended := make(chan struct{})
	defer close(ended)
	go s.keepAlive(sc, ended)
	s.connsMu.Lock()
	s.conns[sc] = struct{}{}
	last := s.lastStatus
	s.connsMu.Unlock()
	if last != nil {
		// A status written before this connection was registered; one written since goes to it anyway.
		sendAll([]*ssh.ServerConn{sc}, wire.RequestStatus, last)
	}
	defer func() {
		s.connsMu.Lock()
		delete(s.conns, sc)
		s.connsMu.Unlock()
	}()
	go func() {
		// Replies go in the order of the requests (RFC 4254 §4), so each is answered before the next is read.
		for req := range reqs {
			ok, reply := false, []byte(nil)
			if req.Type == wire.RequestContainerID {
				ok, reply = true, []byte(s.id)
			} else if h := s.requests[req.Type]; h != nil {
				ok, reply = h(req.Payload)
			}
			if req.WantReply {
				req.Reply(ok, reply)
			}
		}
	}()
	for nc := range chans {
		switch nc.ChannelType() {
		case wire.ChannelAttach:
			ch, chReqs, err := nc.Accept()
			if err != nil {
				continue
			}
			s.hub.Add(ch, chReqs, s.resize)
		case wire.ChannelSession:
			if s.sessions == nil {
				nc.Reject(ssh.UnknownChannelType, "this tether runs no exec sessions")
				continue
			}
			go s.sessions(ctx, nc)
		case wire.ChannelArchive:
			if s.archive == nil {
				nc.Reject(ssh.UnknownChannelType, "this tether serves no archives")
				continue
			}
			go s.archive(ctx, nc)
		case wire.ChannelControl:
			ch, chReqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go s.serveControl(ch, chReqs)
		default:
			nc.Reject(ssh.UnknownChannelType, "unknown channel type "+nc.ChannelType())
		}
	}
	s.log.Info("vch disconnected", "err", sc.Wait())
}

// keepAlive ends the session when the VCH stops answering: a serial line never says it hung up, and the
// port must be offered again for the next VCH to connect.
func (s *sshServer) keepAlive(sc *ssh.ServerConn, ended <-chan struct{}) {
	t := time.NewTicker(keepAliveInterval)
	defer t.Stop()
	for {
		select {
		case <-ended:
			return
		case <-t.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := sc.SendRequest(wire.RequestKeepAlive, true, nil)
			replied <- err
		}()
		select {
		case err := <-replied:
			if err != nil {
				return
			}
		case <-ended:
			return
		case <-time.After(keepAliveTimeout):
			s.log.Warn("the VCH stopped answering; ending its session", "after", keepAliveTimeout)
			sc.Close()
			return
		}
	}
}

// serveControl answers "signal" and "window-change" requests until the channel closes.
func (s *sshServer) serveControl(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		// Counted from before the signal: a process it ends has its tether wait for the reply before the
		// halt hangs the line up (awaitReplies).
		s.answering.begin()
		var ok bool
		switch req.Type {
		case wire.RequestSignal:
			ok = s.signal(req.Payload)
		case wire.RequestWindowChange:
			ok = s.resize(req.Payload)
		}
		if req.WantReply {
			req.Reply(ok, nil)
		}
		s.answering.end()
	}
}

// awaitReplies waits, at most d, until the control requests being handled are answered.
func (s *sshServer) awaitReplies(d time.Duration) bool { return s.answering.wait(d) }

func (s *sshServer) signal(payload []byte) bool {
	var msg struct{ Signal string }
	if err := ssh.Unmarshal(payload, &msg); err != nil {
		return false
	}
	sig, ok := parseSignal(msg.Signal)
	if !ok {
		return false
	}
	if err := s.control.Signal(sig); err != nil {
		s.log.Warn("signal", "signal", msg.Signal, "err", err)
		return false
	}
	s.log.Info("signal", "signal", msg.Signal)
	return true
}

// resize applies RFC 4254's window-change: columns, rows, then pixel sizes the tether ignores.
func (s *sshServer) resize(payload []byte) bool {
	var msg struct{ Cols, Rows, Width, Height uint32 }
	if err := ssh.Unmarshal(payload, &msg); err != nil {
		return false
	}
	if err := s.control.Resize(uint16(msg.Rows), uint16(msg.Cols)); err != nil {
		s.log.Warn("window-change", "err", err)
		return false
	}
	return true
}
