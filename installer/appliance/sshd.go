package appliance

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Shell is what SSH sessions run: "shell" requests run it, "exec" requests run it with -c.
const Shell = "/bin/sh"

// outputGrace is how long a session's output may still be read after its process ended (a background
// child may hold it open).
const outputGrace = time.Second

// sshd is the debug SSH server (vice-machine debug): it accepts only the authorized keys of
// vchwire.ApplianceDebug, with publickey authentication, and runs commands and shells as root.
type sshd struct {
	log    *slog.Logger
	procs  *Procs
	env    []string // the sessions' base environment
	config *ssh.ServerConfig

	mu    sync.Mutex
	keys  map[string]bool // authorized keys, by their wire form
	ln    net.Listener
	addr  string
	conns map[*ssh.ServerConn]string // open connections and the key each authenticated with
}

// newSSHD makes the server with a host key generated at boot.
func newSSHD(log *slog.Logger, procs *Procs, env []string) (*sshd, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	s := &sshd{log: log, procs: procs, env: env, keys: map[string]bool{}, conns: map[*ssh.ServerConn]string{}}
	s.config = &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-vice-appliance",
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			k := string(key.Marshal())
			s.mu.Lock()
			ok := s.keys[k]
			s.mu.Unlock()
			if !ok {
				return nil, fmt.Errorf("key %s is not authorized", ssh.FingerprintSHA256(key))
			}
			return &ssh.Permissions{Extensions: map[string]string{"key": k, "fingerprint": ssh.FingerprintSHA256(key)}}, nil
		},
	}
	s.config.AddHostKey(signer)
	return s, nil
}

// parseAuthorizedKeys reads authorized_keys lines; one that does not parse is an error.
func parseAuthorizedKeys(lines []string) (map[string]bool, error) {
	keys := map[string]bool{}
	for _, l := range lines {
		rest := []byte(l)
		for len(strings.TrimSpace(string(rest))) > 0 {
			key, _, _, r, err := ssh.ParseAuthorizedKey(rest)
			if err != nil {
				return nil, fmt.Errorf("authorized key %q: %w", strings.TrimSpace(l), err)
			}
			keys[string(key.Marshal())] = true
			rest = r
		}
	}
	return keys, nil
}

// apply makes the server match dbg: listening on addr with dbg's keys when SSH is on and has keys, stopped
// otherwise. Connections whose key is no longer authorized are closed.
func (s *sshd) apply(dbg vchwire.ApplianceDebug, addr string) (bool, error) {
	keys, err := parseAuthorizedKeys(dbg.AuthorizedKeys)
	if err != nil || !dbg.SSH || len(keys) == 0 {
		s.stop()
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
	for c, k := range s.conns {
		if !keys[k] {
			c.Close()
		}
	}
	if s.ln != nil && s.addr == addr {
		return true, nil
	}
	if s.ln != nil {
		s.ln.Close()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.ln = nil
		return false, err
	}
	s.ln, s.addr = ln, addr
	s.log.Info("ssh enabled", "addr", addr, "keys", len(keys))
	go s.serve(ln)
	return true, nil
}

// stop closes the listener and every connection; their sessions' processes are killed.
func (s *sshd) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
		s.log.Info("ssh disabled")
	}
	for c := range s.conns {
		c.Close()
	}
	s.keys = map[string]bool{}
}

func (s *sshd) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go s.serveConn(conn)
	}
}

func (s *sshd) serveConn(conn net.Conn) {
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // for the handshake
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		s.log.Debug("ssh handshake", "remote", conn.RemoteAddr(), "err", err)
		conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	s.mu.Lock()
	s.conns[sc] = sc.Permissions.Extensions["key"]
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
	s.log.Info("ssh login", "remote", sc.RemoteAddr(), "user", sc.User(), "key", sc.Permissions.Extensions["fingerprint"])
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Go(func() { s.session(ch, creqs) })
	}
	sc.Close()
	wg.Wait()
}

// session serves one session channel: env, pty-req, window-change, shell, exec and signal requests.
type session struct {
	s    *sshd
	ch   ssh.Channel
	env  []string
	term string
	rows uint16
	cols uint16
	ptmx *os.File
	proc *Proc
	done chan struct{} // closed when the process has ended and its exit status is sent
}

func (s *sshd) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	ss := &session{s: s, ch: ch}
	defer func() {
		if ss.proc != nil {
			_ = ss.proc.Signal(unix.SIGKILL) // the client went away
			<-ss.done
		}
		ch.Close()
	}()
	for req := range reqs {
		ok := ss.request(req)
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
	}
}

func (ss *session) request(req *ssh.Request) bool {
	switch req.Type {
	case "env":
		var kv struct{ Name, Value string }
		if ssh.Unmarshal(req.Payload, &kv) != nil || kv.Name == "" || strings.Contains(kv.Name, "=") {
			return false
		}
		ss.env = append(ss.env, kv.Name+"="+kv.Value)
		return true
	case "pty-req":
		var p struct {
			Term             string
			Cols, Rows, W, H uint32
			Modes            string
		}
		if ss.proc != nil || ssh.Unmarshal(req.Payload, &p) != nil {
			return false
		}
		ss.term, ss.cols, ss.rows = p.Term, uint16(p.Cols), uint16(p.Rows)
		if ss.term == "" {
			ss.term = "xterm"
		}
		return true
	case "window-change":
		var p struct{ Cols, Rows, W, H uint32 }
		if ssh.Unmarshal(req.Payload, &p) != nil {
			return false
		}
		ss.cols, ss.rows = uint16(p.Cols), uint16(p.Rows)
		if ss.ptmx != nil {
			_ = pty.Setsize(ss.ptmx, &pty.Winsize{Rows: ss.rows, Cols: ss.cols})
		}
		return true
	case "shell", "exec":
		if ss.proc != nil {
			return false
		}
		args := []string{Shell}
		if req.Type == "exec" {
			var p struct{ Command string }
			if ssh.Unmarshal(req.Payload, &p) != nil {
				return false
			}
			args = append(args, "-c", p.Command)
		}
		if err := ss.start(args); err != nil {
			ss.s.log.Warn("ssh session", "err", err)
			fmt.Fprintf(ss.ch.Stderr(), "vice-appliance: %v\r\n", err)
			return false
		}
		return true
	case "signal":
		var p struct{ Signal string }
		if ss.proc == nil || ssh.Unmarshal(req.Payload, &p) != nil {
			return false
		}
		sig := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(p.Signal), "SIG"))
		return sig != 0 && ss.proc.Signal(sig) == nil
	}
	return false
}

// start runs args with the channel as its terminal (a pty, when one was requested) or its stdio.
func (ss *session) start(args []string) error {
	env := append(append([]string{}, ss.s.env...), ss.env...)
	cmd := &exec.Cmd{Path: args[0], Args: args, Env: env, Dir: "/", SysProcAttr: childAttr()}
	var copies []func()
	var closeAfterStart, closeAfterOutput []*os.File
	if ss.term != "" {
		ptmx, tty, err := pty.Open()
		if err != nil {
			return err
		}
		_ = pty.Setsize(ptmx, &pty.Winsize{Rows: ss.rows, Cols: ss.cols})
		cmd.Env = append(cmd.Env, "TERM="+ss.term)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
		ss.ptmx = ptmx
		closeAfterStart = append(closeAfterStart, tty)
		closeAfterOutput = append(closeAfterOutput, ptmx)
		go func() { _, _ = io.Copy(ptmx, ss.ch) }()
		copies = append(copies, func() { _, _ = io.Copy(ss.ch, ptmx) })
	} else {
		inR, inW, err := os.Pipe()
		if err != nil {
			return err
		}
		outR, outW, err := os.Pipe()
		if err != nil {
			inR.Close()
			inW.Close()
			return err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			inR.Close()
			inW.Close()
			outR.Close()
			outW.Close()
			return err
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
		closeAfterStart = append(closeAfterStart, inR, outW, errW)
		closeAfterOutput = append(closeAfterOutput, outR, errR, inW)
		go func() {
			_, _ = io.Copy(inW, ss.ch)
			inW.Close() // the client's EOF is the process's
		}()
		copies = append(copies, func() { _, _ = io.Copy(ss.ch, outR) }, func() { _, _ = io.Copy(ss.ch.Stderr(), errR) })
	}
	proc, err := ss.s.procs.Start(func() (*os.Process, error) {
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Process, nil
	})
	for _, f := range closeAfterStart {
		f.Close()
	}
	if err != nil {
		for _, f := range closeAfterOutput {
			f.Close()
		}
		return err
	}
	ss.proc, ss.done = proc, make(chan struct{})
	var out sync.WaitGroup
	for _, c := range copies {
		out.Go(c)
	}
	go func() {
		defer close(ss.done)
		<-proc.Done()
		drained := make(chan struct{})
		go func() {
			out.Wait()
			close(drained)
		}()
		select {
		case <-drained:
		case <-time.After(outputGrace):
		}
		for _, f := range closeAfterOutput {
			f.Close()
		}
		<-drained
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, uint32(proc.ExitCode()))
		_, _ = ss.ch.SendRequest("exit-status", false, status)
		_ = ss.ch.CloseWrite()
		ss.ch.Close()
	}()
	return nil
}

// debugLoop polls vchwire.KeyApplianceDebug and applies it to the SSH server until ctx ends. Settings that
// failed to apply (the port was taken) are tried again at every poll.
func (a *appliance) debugLoop(ctx context.Context, s *sshd, addr string) {
	t := time.NewTicker(a.o.DebugPoll)
	defer t.Stop()
	applied, failed := "", ""
	first := true
	for {
		v, _, err := a.o.GuestInfo.Get(ctx, vchwire.KeyApplianceDebug)
		if err != nil {
			a.log.Debug("read the debug settings", "err", err)
		} else if first || v != applied || failed != "" {
			first = false
			msg := ""
			if err := a.applyDebug(ctx, s, v, addr); err != nil {
				msg = err.Error()
				if msg != failed {
					a.log.Warn("debug settings", "err", err)
				}
			}
			applied, failed = v, msg
		}
		a.status.Flush(ctx) // retries a status write that failed
		select {
		case <-ctx.Done():
			s.stop()
			a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceSSH, State: ServiceStopped})
			return
		case <-t.C:
		}
	}
}

func (a *appliance) applyDebug(ctx context.Context, s *sshd, v, addr string) error {
	var dbg vchwire.ApplianceDebug
	if v != "" {
		if err := json.Unmarshal([]byte(v), &dbg); err != nil {
			s.stop()
			err = fmt.Errorf("debug settings: %w", err)
			a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceSSH, State: ServiceFailed, Error: err.Error()})
			return err
		}
	}
	on, err := s.apply(dbg, addr)
	switch {
	case err != nil:
		a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceSSH, State: ServiceFailed, Error: err.Error()})
	case on:
		a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceSSH, State: ServiceRunning})
	default:
		a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceSSH, State: ServiceStopped})
	}
	return err
}
