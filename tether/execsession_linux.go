package tether

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// Bounds of the exec session table.
const (
	// keptExited is how many ended sessions the tether remembers, for the VCH's status requests.
	keptExited = 256
	// sessionOutputGrace is how long a session's output may go on after its process exited (children it
	// left behind holding its stdout) before its channel gets the exit status and closes.
	sessionOutputGrace = 500 * time.Millisecond
	// sessionDrainWait bounds the hand-over of what is left in a session's outputs once the grace has passed
	// (a channel whose reader has stopped reading blocks it).
	sessionDrainWait = 5 * time.Second
)

// copyOutput copies an output of a session to w until its end. Output is read to its end even when nobody
// reads it (w failed), so the process never blocks on it. A read deadline (the process exited, its grace
// passed) ends the copy once what the pipe holds has been handed on.
func copyOutput(w io.Writer, r *os.File) {
	buf := make([]byte, 32<<10)
	write := func(p []byte) {
		if _, err := w.Write(p); err != nil {
			w = io.Discard
		}
	}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			write(buf[:n])
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The deadline stops reads before they look at the pipe: read what it holds without waiting.
			fd, ferr := rawFD(r)
			for ferr == nil {
				n, rerr := unix.Read(fd, buf)
				if n <= 0 || rerr != nil {
					break
				}
				write(buf[:n])
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// execSessions are the container's exec sessions (wire.ChannelSession): more processes of the container,
// started by the tether in its own namespaces and cgroup, each with its own user, env, working directory
// and tty. They run until their process exits, whether or not the VCH stays connected.
type execSessions struct {
	log      *slog.Logger
	p        Platform
	hostname string // the container's, for the sessions' HOSTNAME
	r        *reaper
	notify   func(wire.SessionStatus) // tells the connected VCHs that a session ended

	mu     sync.Mutex
	byID   map[string]*execSession
	exited []string // IDs of ended sessions, oldest first
}

// execSession is one session and its process.
type execSession struct {
	cfg  wire.SessionConfig
	proc *session

	mu     sync.Mutex
	status wire.SessionStatus
}

func newExecSessions(log *slog.Logger, p Platform, hostname string, r *reaper) *execSessions {
	return &execSessions{log: log, p: p, hostname: hostname, r: r, notify: func(wire.SessionStatus) {},
		byID: map[string]*execSession{}}
}

// open serves a ChannelSession: it claims the session, reads its config, starts its process and accepts
// the channel, or rejects it saying why.
func (s *execSessions) open(ctx context.Context, nc ssh.NewChannel) {
	id, given, err := sessionOf(nc.ExtraData())
	if err != nil {
		_ = nc.Reject(wire.RejectUnknown, err.Error())
		return
	}
	es, err := s.claim(ctx, id, given)
	if err != nil {
		reason := ssh.RejectionReason(wire.RejectUnknown)
		if errors.Is(err, errStarted) {
			reason = wire.RejectStarted
		}
		_ = nc.Reject(reason, err.Error())
		return
	}
	log := s.log.With("session", id)
	exited := make(chan int, 1)
	pid, err := es.proc.start(s.r.forkOther(exited))
	if err != nil {
		se := startFailure(err)
		log.Info("session start failed", "exitCode", se.code, "err", se.msg)
		now := time.Now().UTC()
		st := es.set(func(st *wire.SessionStatus) {
			st.State, st.ExitCode, st.Error, st.StartedAt, st.FinishedAt = wire.SessionExited, se.code, se.msg, now, now
		})
		s.ended(st)
		_ = nc.Reject(wire.RejectStartFailed, se.msg)
		return
	}
	es.set(func(st *wire.SessionStatus) {
		st.State, st.Pid, st.StartedAt = wire.SessionRunning, pid, time.Now().UTC()
	})
	log.Info("session started", "pid", pid, "path", es.cfg.Path, "tty", es.cfg.Tty)
	ch, reqs, err := nc.Accept()
	if err != nil {
		// The VCH went away between its open and our answer: the process runs on, detached.
		log.Warn("accept session channel", "err", err)
		ch = nil
	} else {
		go ssh.DiscardRequests(reqs)
	}
	s.serve(log, es, ch, exited)
}

var errStarted = errors.New("the session was started before")

// sessionOf reads a ChannelSession's payload: the session's config, or its ID alone (the config is then in
// guestinfo).
func sessionOf(payload []byte) (id string, cfg *wire.SessionConfig, err error) {
	if len(payload) > 0 && payload[0] == '{' {
		cfg = &wire.SessionConfig{}
		if err := json.Unmarshal(payload, cfg); err != nil {
			return "", nil, fmt.Errorf("session config: %w", err)
		}
		if cfg.Path == "" {
			return "", nil, fmt.Errorf("session %s config has no path", cfg.ID)
		}
		id = cfg.ID
	} else {
		id = string(payload)
	}
	if id == "" || strings.ContainsAny(id, "/ \n") {
		return "", nil, fmt.Errorf("invalid session ID %q", id)
	}
	return id, cfg, nil
}

// claim registers id as starting (so no second open starts it) and prepares its process from its config,
// the one given or the one in guestinfo.
func (s *execSessions) claim(ctx context.Context, id string, cfg *wire.SessionConfig) (*execSession, error) {
	s.mu.Lock()
	if _, ok := s.byID[id]; ok {
		s.mu.Unlock()
		return nil, errStarted
	}
	es := &execSession{status: wire.SessionStatus{ID: id, State: wire.SessionCreated}}
	s.byID[id] = es
	s.mu.Unlock()
	var err error
	if cfg == nil {
		cfg, err = s.readConfig(ctx, id)
	}
	if err == nil {
		es.cfg = *cfg
		es.proc, err = newSession(&wire.ContainerConfig{Path: cfg.Path, Args: cfg.Args, Env: cfg.Env,
			WorkingDir: cfg.WorkingDir, User: cfg.User, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin, StdinOnce: true,
			Hostname: s.hostname})
	}
	if err == nil && cfg.Tty && cfg.Rows > 0 && cfg.Cols > 0 {
		err = es.proc.Resize(cfg.Rows, cfg.Cols)
	}
	if err != nil {
		s.mu.Lock()
		delete(s.byID, id)
		s.mu.Unlock()
		return nil, err
	}
	return es, nil
}

func (s *execSessions) readConfig(ctx context.Context, id string) (*wire.SessionConfig, error) {
	v, found, err := s.p.GuestInfo(ctx, wire.SessionKey(id))
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", id, err)
	}
	if !found || v == "" {
		return nil, fmt.Errorf("no config for session %s in guestinfo", id)
	}
	var cfg wire.SessionConfig
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return nil, fmt.Errorf("session %s config: %w", id, err)
	}
	if cfg.Path == "" {
		return nil, fmt.Errorf("session %s config has no path", id)
	}
	return &cfg, nil
}

// serve runs a started session to its end: output to the channel (when there is one and while it lasts),
// the channel's data to stdin, then the exit status.
func (s *execSessions) serve(log *slog.Logger, es *execSession, ch ssh.Channel, exited <-chan int) {
	var out sync.WaitGroup
	for _, o := range es.proc.outputs {
		out.Add(1)
		go func() {
			defer out.Done()
			var w io.Writer = io.Discard
			if ch != nil {
				w = &channelWriter{ch: ch, stderr: o.stream == "stderr"}
			}
			copyOutput(w, o.r)
		}()
	}
	if ch != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := ch.Read(buf)
				if n > 0 {
					_ = es.proc.WriteStdin(buf[:n])
				}
				if err != nil {
					// The end of the VCH's input (or of the channel) is the end of the process's stdin.
					es.proc.CloseStdin()
					return
				}
			}
		}()
	}
	code := <-exited
	drained := make(chan struct{})
	go func() { out.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(sessionOutputGrace):
		// What the process wrote is in its pipes, whether or not a copy got to it yet (a loaded machine may
		// not run one for a while): each copy hands it on, then stops waiting for more.
		log.Info("session output still open after its process exited; closing its channel")
		for _, o := range es.proc.outputs {
			_ = o.r.SetReadDeadline(time.Now())
		}
		select {
		case <-drained:
		case <-time.After(sessionDrainWait):
		}
	}
	st := es.set(func(st *wire.SessionStatus) {
		st.State, st.ExitCode, st.FinishedAt = wire.SessionExited, code, time.Now().UTC()
	})
	log.Info("session exited", "exitCode", code)
	// The VCH hears of the end (session-exit) before the channel's exit status and close: a VCH that asks
	// for the outcome once the channel has ended has it already.
	s.ended(st)
	if ch != nil {
		sendExitStatus(ch, code)
		ch.Close()
	}
	es.proc.CloseStdin()
	go func() {
		// Children left behind may hold the outputs open; their ends are released once they are done.
		<-drained
		for _, o := range es.proc.outputs {
			o.r.Close()
		}
	}()
}

// ended records a session's end, forgets the oldest ended ones beyond keptExited, and tells the VCH.
func (s *execSessions) ended(st wire.SessionStatus) {
	s.mu.Lock()
	s.exited = append(s.exited, st.ID)
	for len(s.exited) > keptExited {
		delete(s.byID, s.exited[0])
		s.exited = s.exited[1:]
	}
	s.mu.Unlock()
	s.notify(st)
}

func (s *execSessions) get(id string) *execSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// status answers RequestSessionStatus.
func (s *execSessions) status(payload []byte) (bool, []byte) {
	es := s.get(string(payload))
	if es == nil {
		return false, nil
	}
	b, _ := json.Marshal(es.snapshot())
	return true, b
}

// signal answers RequestSessionSignal: the signal goes to the session's process group (it leads one), so
// what it started goes too, as a terminal's hangup would.
func (s *execSessions) signal(payload []byte) (bool, []byte) {
	var req wire.SessionSignal
	if err := json.Unmarshal(payload, &req); err != nil {
		return replyError(err)
	}
	es := s.get(req.ID)
	if es == nil {
		return replyError(fmt.Errorf("no such session %s", req.ID))
	}
	sig, ok := parseSignal(req.Signal)
	if !ok {
		return replyError(fmt.Errorf("invalid signal %q", req.Signal))
	}
	st := es.snapshot()
	if st.State != wire.SessionRunning {
		return replyError(fmt.Errorf("session %s is not running", req.ID))
	}
	if err := unix.Kill(-st.Pid, sig); err != nil {
		if err := unix.Kill(st.Pid, sig); err != nil {
			return replyError(err)
		}
	}
	return true, nil
}

// resize answers RequestSessionResize.
func (s *execSessions) resize(payload []byte) (bool, []byte) {
	var req wire.SessionResize
	if err := json.Unmarshal(payload, &req); err != nil {
		return replyError(err)
	}
	es := s.get(req.ID)
	if es == nil {
		return replyError(fmt.Errorf("no such session %s", req.ID))
	}
	if es.proc == nil || es.snapshot().State != wire.SessionRunning {
		return true, nil
	}
	if err := es.proc.Resize(req.Rows, req.Cols); err != nil {
		return replyError(err)
	}
	return true, nil
}

func (es *execSession) set(f func(*wire.SessionStatus)) wire.SessionStatus {
	es.mu.Lock()
	defer es.mu.Unlock()
	f(&es.status)
	return es.status
}

func (es *execSession) snapshot() wire.SessionStatus {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.status
}

// replyError is a failed request's reply.
func replyError(err error) (bool, []byte) {
	b, _ := json.Marshal(wire.ReplyError{Error: err.Error()})
	return false, b
}

// channelWriter writes one stream of a session to its channel; once the channel fails (the VCH detached or
// went away) the rest is dropped, and the copy goes on draining the process's output.
type channelWriter struct {
	ch     ssh.Channel
	stderr bool
	failed bool
}

func (w *channelWriter) Write(p []byte) (int, error) {
	if w.failed {
		return len(p), nil
	}
	var err error
	if w.stderr {
		_, err = w.ch.Stderr().Write(p)
	} else {
		_, err = w.ch.Write(p)
	}
	if err != nil {
		w.failed = true
	}
	return len(p), nil
}
