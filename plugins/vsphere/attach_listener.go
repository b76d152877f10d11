package vsphere

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/tether/wire"
)

// handshakeTimeout bounds a guest's SSH handshake and identification once it has offered a session (the
// wait for the offer itself lasts as long as the line: a VM may take minutes to boot).
const handshakeTimeout = 15 * time.Second

// attachListener is the VCH end of the containerVMs' serial lines (DESIGN §5): each containerVM's serial port
// dials it, and over that line the VCH is the SSH client of the tether. It keeps one connection per
// container, the latest one.
type attachListener struct {
	log       *slog.Logger
	ln        net.Listener
	advertise string // host:port the VMs' serial ports dial

	// onSessionExit takes a tether's session-exit request (wire.RequestSessionExit): its container, then
	// the request's payload.
	onSessionExit func(containerID string, payload []byte)
	// onStatus takes a tether's status notice (wire.RequestStatus): its container's status in guestinfo
	// changed. ctx ends when the listener closes.
	onStatus func(ctx context.Context, containerID string)
	// onStarted takes a tether's notice that its process has started (a pending wire.RequestStatus), before
	// onStatus is called for it.
	onStarted func(containerID string, n wire.StatusNotice)

	ctx     context.Context // ends when the listener closes
	cancel  context.CancelFunc
	mu      sync.Mutex
	guests  map[string]*guestConn
	lines   map[net.Conn]context.CancelFunc // every connected line, to end them on close
	changed chan struct{}                   // closed, and replaced, when a guest connects
	closed  bool
	wg      sync.WaitGroup
}

// guestConn is one tether's SSH connection.
type guestConn struct {
	id   string
	conn ssh.Conn

	ctrlMu sync.Mutex
	ctrl   ssh.Channel // the control channel, opened on first use and again after it closes
}

// listenAttach starts accepting guests on addr. advertise, when empty, is the listener's address, with an
// unspecified IP replaced by the loopback one.
func listenAttach(addr, advertise string, log *slog.Logger) (*attachListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("attach listener on %s: %w", addr, errdefs.Classed(err, errdefs.ErrInvalid))
	}
	if advertise == "" {
		tcp := ln.Addr().(*net.TCPAddr)
		ip := tcp.IP
		if ip.IsUnspecified() {
			ip = net.IPv4(127, 0, 0, 1)
		}
		advertise = net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
	}
	a := &attachListener{log: log, ln: ln, advertise: advertise, guests: map[string]*guestConn{},
		lines: map[net.Conn]context.CancelFunc{}, changed: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(1)
	go a.serve()
	log.Info("accepting containerVM serial lines", "listen", ln.Addr().String(), "advertise", advertise)
	return a, nil
}

func (a *attachListener) serve() {
	defer a.wg.Done()
	for {
		nc, err := a.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				a.log.Error("attach listener stopped", "err", err)
			}
			return
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.serveLine(nc)
		}()
	}
}

// serveLine serves one containerVM's serial line for as long as it is connected: session after session,
// each begun when the tether offers one (wire's serial synchronisation), since a VM's line connects at
// power-on, long before the tether listens, and stays connected when a session ends.
func (a *attachListener) serveLine(nc net.Conn) {
	defer nc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.lines[nc] = cancel
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.lines, nc)
		a.mu.Unlock()
	}()
	remote := nc.RemoteAddr().String()
	for ctx.Err() == nil {
		line, err := wire.AwaitGuest(ctx, nc, handshakeTimeout)
		if err != nil {
			a.log.Debug("a serial line ended", "remote", remote, "err", err)
			return
		}
		s := newLineSession(line)
		a.session(s, remote)
		s.Close() // what is left of the session stops reading before the line is read for the next offer
	}
}

// session makes the SSH connection to the tether on line, asks which container it is, and keeps it until
// it ends.
func (a *attachListener) session(line net.Conn, remote string) {
	_ = line.SetDeadline(time.Now().Add(handshakeTimeout))
	cfg := &ssh.ClientConfig{
		User: "vice",
		// The line is private to the VCH (the VM's serial port dials us), so the tether's host key is taken
		// as it comes and authentication is "none".
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         handshakeTimeout,
	}
	conn, chans, reqs, err := ssh.NewClientConn(line, remote, cfg)
	if err != nil {
		a.log.Warn("a guest's SSH handshake failed", "remote", remote, "err", err)
		return
	}
	identified := make(chan string, 1)
	a.wg.Add(1) // within serveLine's own: close waits for the requests' handling too
	go a.serveRequests(reqs, identified)
	go func() {
		for nch := range chans {
			_ = nch.Reject(ssh.Prohibited, "the VCH opens the channels")
		}
	}()
	ok, payload, err := conn.SendRequest(wire.RequestContainerID, true, nil)
	_ = line.SetDeadline(time.Time{})
	id := decodeContainerID(payload)
	if err != nil || !ok || !containerIDPattern.MatchString(id) {
		a.log.Warn("a guest did not identify its container", "remote", remote, "err", err)
		close(identified)
		conn.Close()
		return
	}
	identified <- id
	g := &guestConn{id: id, conn: conn}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		conn.Close()
		return
	}
	old := a.guests[id]
	a.guests[id] = g
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
	if old != nil {
		old.conn.Close() // the guest reconnected; the old line is dead or soon will be
	}
	a.log.Debug("guest connected", "container", id, "remote", remote)
	_ = conn.Wait()
	a.mu.Lock()
	if a.guests[id] == g {
		delete(a.guests, id)
	}
	a.mu.Unlock()
	a.log.Debug("guest disconnected", "container", id)
}

// serveRequests takes the tether's global requests, from the start (the mux must not stall on them), and
// acts on them once the guest has said which container it is.
func (a *attachListener) serveRequests(reqs <-chan *ssh.Request, identified <-chan string) {
	defer a.wg.Done()
	// Status notices are taken by a goroutine of their own, since each costs a read of the VM; those that
	// come while one is being taken make one more, which reads the VM after all of them.
	notices := make(chan struct{}, 1)
	var noticed sync.WaitGroup
	defer func() {
		close(notices)
		noticed.Wait()
	}()
	var id string
	var early []*ssh.Request
	for {
		select {
		case got, ok := <-identified:
			if !ok {
				for range reqs {
				}
				return
			}
			id, identified = got, nil
			noticed.Add(1)
			go func() {
				defer noticed.Done()
				for range notices {
					a.statusChanged(id)
				}
			}()
			for _, r := range early {
				a.request(id, r, notices)
			}
			early = nil
		case r, ok := <-reqs:
			if !ok {
				return
			}
			if id == "" {
				early = append(early, r)
				continue
			}
			a.request(id, r, notices)
		}
	}
}

func (a *attachListener) request(id string, r *ssh.Request, notices chan<- struct{}) {
	a.mu.Lock()
	onExit, onStarted := a.onSessionExit, a.onStarted
	a.mu.Unlock()
	switch {
	case r.Type == wire.RequestSessionExit && onExit != nil:
		onExit(id, r.Payload) // quick: the channel's end that follows must find it recorded
	case r.Type == wire.RequestStatus:
		if n, ok := decodeStatusNotice(r.Payload); !ok {
			a.log.Debug("a guest's status notice was not understood; ignored", "container", id, "payload", r.Payload)
		} else {
			a.log.Debug("status notice", "container", id, "state", n.State, "boot", n.Boot, "pending", n.Pending)
			if n.Pending && onStarted != nil {
				onStarted(id, n) // before the read it asks for, which a start waiting for the process takes
			}
			select {
			case notices <- struct{}{}:
			default: // one is pending already, and its read of the VM comes after this notice
			}
		}
	}
	if r.WantReply {
		_ = r.Reply(false, nil)
	}
}

// decodeStatusNotice reads RequestStatus's payload; ok is false for anything but a notice of a known state.
func decodeStatusNotice(p []byte) (n wire.StatusNotice, ok bool) {
	if err := json.Unmarshal(p, &n); err != nil || n.Boot < 0 {
		return n, false
	}
	switch {
	case n.Pending:
		return n, n.State == wire.StateRunning // only a process's start is told before its write
	case n.State == wire.StateStarting, n.State == wire.StateRunning, n.State == wire.StateExited:
		return n, true
	}
	return n, false
}

// noticeTimeout bounds the handling of one status notice (a read of the VM).
const noticeTimeout = 30 * time.Second

// statusChanged hands a status notice of container id to onStatus.
func (a *attachListener) statusChanged(id string) {
	a.mu.Lock()
	on := a.onStatus
	a.mu.Unlock()
	if on == nil {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, noticeTimeout)
	defer cancel()
	on(ctx, id)
}

// setOnStatus sets what takes the guests' status notices (nil: nothing; they are ignored), and what takes
// the notices of a process's start first.
func (a *attachListener) setOnStatus(f func(ctx context.Context, containerID string), started func(containerID string, n wire.StatusNotice)) {
	a.mu.Lock()
	a.onStatus, a.onStarted = f, started
	a.mu.Unlock()
}

// decodeContainerID reads the ID from RequestContainerID's reply, sent either as the bare ID or as an SSH
// string (length-prefixed).
func decodeContainerID(p []byte) string {
	if len(p) > 4 && int(binary.BigEndian.Uint32(p)) == len(p)-4 {
		return string(p[4:])
	}
	return string(p)
}

// guest returns id's connection, waiting up to wait for the guest to connect.
func (a *attachListener) guest(ctx context.Context, id string, wait time.Duration) (*guestConn, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		a.mu.Lock()
		g, changed := a.guests[id], a.changed
		a.mu.Unlock()
		if g != nil {
			return g, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, fmt.Errorf("the tether of container %s is not connected to the VCH: %w", id, errdefs.ErrUnavailable)
		case <-ctx.Done():
			return nil, classify(ctx.Err(), "wait for the tether of container "+id)
		}
	}
}

// drop closes id's connection (its container is gone).
func (a *attachListener) drop(id string) {
	a.mu.Lock()
	g := a.guests[id]
	delete(a.guests, id)
	a.mu.Unlock()
	if g != nil {
		g.conn.Close()
	}
}

// close stops accepting, ends every line and guest connection and waits for their goroutines.
func (a *attachListener) close() {
	a.mu.Lock()
	a.closed = true
	guests := a.guests
	a.guests = map[string]*guestConn{}
	for _, cancel := range a.lines {
		cancel()
	}
	a.mu.Unlock()
	a.cancel() // status notices being taken
	a.ln.Close()
	for _, g := range guests {
		g.conn.Close()
	}
	a.wg.Wait()
}

// request sends a control request (signal, window-change) and waits for the tether's answer.
func (g *guestConn) request(ctx context.Context, name string, payload []byte) error {
	ch, err := g.control()
	if err != nil {
		return err
	}
	type reply struct {
		ok  bool
		err error
	}
	done := make(chan reply, 1)
	go func() {
		ok, err := ch.SendRequest(name, true, payload)
		done <- reply{ok, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return fmt.Errorf("%s request to container %s: %w", name, g.id, errdefs.Classed(r.err, errdefs.ErrUnavailable))
		}
		if !r.ok {
			return fmt.Errorf("the tether of container %s refused the %s request: %w", g.id, name, errdefs.ErrConflict)
		}
		return nil
	case <-ctx.Done():
		return classify(ctx.Err(), name+" request to container "+g.id)
	}
}

// global sends a global request to the tether and returns its answer; ctx bounds the wait.
func (g *guestConn) global(ctx context.Context, name string, payload []byte) (bool, []byte, error) {
	type reply struct {
		ok      bool
		payload []byte
		err     error
	}
	done := make(chan reply, 1)
	go func() {
		ok, p, err := g.conn.SendRequest(name, true, payload)
		done <- reply{ok, p, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return false, nil, fmt.Errorf("%s request to container %s: %w", name, g.id, errdefs.Classed(r.err, errdefs.ErrUnavailable))
		}
		return r.ok, r.payload, nil
	case <-ctx.Done():
		return false, nil, classify(ctx.Err(), name+" request to container "+g.id)
	}
}

func (g *guestConn) control() (ssh.Channel, error) {
	g.ctrlMu.Lock()
	defer g.ctrlMu.Unlock()
	if g.ctrl != nil {
		return g.ctrl, nil
	}
	ch, reqs, err := g.conn.OpenChannel(wire.ChannelControl, nil)
	if err != nil {
		return nil, fmt.Errorf("open the control channel of container %s: %w", g.id, errdefs.Classed(err, errdefs.ErrUnavailable))
	}
	go ssh.DiscardRequests(reqs)
	g.ctrl = ch
	go func() {
		// The channel carries no data; reading it tells when it closes, so the next request reopens it.
		_, _ = io.Copy(io.Discard, ch)
		g.ctrlMu.Lock()
		if g.ctrl == ch {
			g.ctrl = nil
		}
		g.ctrlMu.Unlock()
	}()
	return ch, nil
}
