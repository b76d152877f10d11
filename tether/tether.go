package tether

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// After the main process exits, its output may still be held open by processes it left behind; they get
// this long to finish before PID 1 kills them, as a VM's power-off would.
const (
	outputGrace = time.Second
	killedGrace = 5 * time.Second
)

// Main is the whole life of a containerVM's PID 1: it runs the container, then powers the machine off.
// It does not return.
func Main() {
	p, err := NewPlatform()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tether:", err)
		os.Exit(1)
	}
	if err := Run(context.Background(), p); err != nil {
		fmt.Fprintln(os.Stderr, "tether:", err)
	}
	if err := p.PowerOff(); err != nil {
		fmt.Fprintln(os.Stderr, "tether:", err)
	}
	os.Exit(1)
}

// Run prepares the container, runs its process to the end and records the outcome; the caller powers
// off. An error means the container could not be run at all; a process that failed to start is an
// outcome (exit code 126/127/128 in the status), not an error.
func Run(ctx context.Context, p Platform) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := slog.New(slog.NewJSONHandler(p.DebugLog(), &slog.HandlerOptions{Level: slog.LevelDebug}))

	cfg, err := readConfig(ctx, p)
	if err != nil {
		log.Error("read config", "err", err)
		_ = writeStatus(ctx, p, wire.GuestStatus{State: wire.StateExited, ExitCode: exitStartFailed,
			Error: err.Error(), FinishedAt: time.Now().UTC()})
		return err
	}
	log = log.With("id", cfg.ID)
	log.Info("boot", "boot", cfg.Boot, "path", cfg.Path, "tty", cfg.Tty)
	g := &guest{log: log, p: p, cfg: cfg, logs: newLogWriter(p.OutputLog())}
	// "starting" is written only when the process has not started after startingAfter (a guest waiting for
	// its disks or NICs, say): nothing waits for it, and most boots get to "running" sooner, which saves
	// them a round trip to the VCH's vSphere.
	slow := time.AfterFunc(startingAfter, func() {
		g.statusMu.Lock()
		defer g.statusMu.Unlock()
		if g.statusWritten || g.processUp {
			return
		}
		st := wire.GuestStatus{State: wire.StateStarting, Boot: cfg.Boot}
		if err := writeStatus(ctx, p, st); err != nil {
			log.Error("write status", "err", err)
			return
		}
		g.notifyStatus(wire.StatusNotice{State: st.State, Boot: st.Boot})
	})
	defer slow.Stop()
	return g.run(ctx)
}

// guest is one boot of a containerVM.
type guest struct {
	log   *slog.Logger
	p     Platform
	cfg   *wire.ContainerConfig
	logs  *logWriter
	hub   *hub // nil until the SSH server runs
	stats statsReader
	// statusMu orders the status writes: "starting" (when late) never lands after a later one, nor "running"
	// (written once the process has run for runningAfter) after the exit's.
	statusMu      sync.Mutex
	statusWritten bool        // a status other than "starting" was written
	processUp     bool        // the process has started: "starting" is no longer true
	running       *time.Timer // writes "running" once the process has run for runningAfter
	srv           *sshServer  // under statusMu: nil until the serial line is served
}

func (g *guest) run(ctx context.Context) error {
	sw := newStopwatch()
	// The guest's cgroup is found while the host's cgroup filesystems are still in view.
	if os.Getenv(wire.CgroupEnv) == "1" {
		g.stats.cg = findCgroup()
	}
	sw.lap("cgroup")
	if err := prepareRoot(os.Getenv(wire.RootEnv), g.cfg.Mounts); err != nil {
		return g.failStart(ctx, err)
	}
	sw.lap("root")
	if err := configureNetwork(ctx, g.log, g.cfg.Networks); err != nil {
		return g.failStart(ctx, err)
	}
	sw.lap("network")
	if err := setIdentity(g.cfg); err != nil {
		return g.failStart(ctx, err)
	}
	sess, err := newSession(g.cfg)
	if err != nil {
		return g.failStart(ctx, err)
	}
	sw.lap("session")
	r := newReaper(g.log)
	go r.run(ctx)
	g.hub = newHub(g.log, g.cfg, sess)
	if err := g.serveSerial(ctx, r, sess); err != nil {
		// The process still runs and its output still reaches the log; only attach is lost.
		g.log.Error("serial", "err", err)
	}
	sw.lap("serial")
	pumps, err := g.pumpOutput(sess)
	if err != nil {
		return g.failStart(ctx, err)
	}
	defer pumps.Release() // after the exit status is written: closing the write-order watch takes a while
	sw.lap("pumps")

	if g.cfg.RunBlock {
		g.log.Info("waiting for attach")
		select {
		case <-g.hub.Attached():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	pid, err := sess.start(r.fork)
	if err != nil {
		g.waitOutput(pumps)
		return g.failStart(ctx, err)
	}
	sw.lap("process")
	started := time.Now().UTC()
	g.log.Info("started", "pid", pid)
	g.processStarted(ctx, wire.GuestStatus{State: wire.StateRunning, Pid: pid, StartedAt: started})
	sw.lap("status")
	g.log.Debug("start-up steps", sw.steps...)

	var code int
	select {
	case code = <-r.Exited():
	case <-ctx.Done():
		return ctx.Err()
	}
	xw := newStopwatch()
	g.waitOutput(pumps)
	xw.lap("output")
	g.logs.Flush()
	xw.lap("flush")
	g.hub.Finish(code)
	xw.lap("finish")
	g.setStatus(ctx, wire.GuestStatus{State: wire.StateExited, Pid: pid, StartedAt: started,
		FinishedAt: time.Now().UTC(), ExitCode: code})
	xw.lap("status")
	g.log.Debug("exit steps", xw.steps...)
	g.log.Info("exited", "exitCode", code)
	return nil
}

func (g *guest) serveSerial(ctx context.Context, r *reaper, sess *session) error {
	srv, err := newSSHServer(g.log, g.cfg.ID, g.hub, sessionControl{r, sess})
	if err != nil {
		return err
	}
	execs := newExecSessions(g.log, g.p, g.cfg.Hostname, r)
	execs.notify = func(st wire.SessionStatus) {
		b, _ := json.Marshal(st)
		srv.broadcast(wire.RequestSessionExit, b)
	}
	srv.sessions = execs.open
	srv.archive = (&archiveServer{log: g.log, user: g.cfg.User}).open
	srv.requests[wire.RequestSessionStatus] = execs.status
	srv.requests[wire.RequestSessionSignal] = execs.signal
	srv.requests[wire.RequestSessionResize] = execs.resize
	srv.requests[wire.RequestStats] = g.stats.answer
	srv.requests[wire.RequestTop] = top(func() uint64 { return g.stats.sample().Memory.Limit })
	srv.requests[wire.RequestNetwork] = (&netReloader{log: g.log, p: g.p, cfg: g.cfg}).reload
	l, err := g.p.Serial()
	if err != nil {
		return err
	}
	g.statusMu.Lock()
	g.srv = srv
	g.statusMu.Unlock()
	go func() {
		if err := srv.Serve(ctx, l); err != nil {
			g.log.Error("serial", "err", err)
		}
	}()
	return nil
}

// pumpOutput copies the output streams to the log and to the attached clients, in the order they were
// read (outputpump_linux.go), until they end.
func (g *guest) pumpOutput(sess *session) (*outputPump, error) {
	p, err := startOutputPump(g.log, sess.outputs, func(stream string, b []byte) {
		_, _ = g.logs.Stream(stream).Write(b)
		g.hub.Write(stream, b)
	})
	if err != nil {
		return nil, fmt.Errorf("read the process's output: %w", err)
	}
	return p, nil
}

// waitOutput waits for the outputs to end. Processes left behind that hold them open are killed, as
// the VM's power-off would kill them; that is only safe where the tether is PID 1 of its own machine.
func (g *guest) waitOutput(p *outputPump) {
	select {
	case <-p.Done():
		return
	case <-time.After(outputGrace):
	}
	if os.Getpid() == 1 {
		g.log.Info("killing processes left behind")
		_ = unix.Kill(-1, unix.SIGKILL)
	}
	select {
	case <-p.Done():
	case <-time.After(killedGrace):
		p.Stop()
		<-p.Done()
	}
}

// failStart records a process that could not be started, as Docker reports it: the message in the status,
// with exit code 126, 127 or 128, and nothing in the output (dockerd answers the start with the runtime's
// error; the container's log stays empty and attached clients see their streams end).
func (g *guest) failStart(ctx context.Context, err error) error {
	se := startFailure(err)
	g.log.Error("start failed", "exitCode", se.code, "err", se.msg)
	if g.hub != nil {
		g.hub.Finish(se.code)
	}
	g.setStatus(ctx, wire.GuestStatus{State: wire.StateExited, ExitCode: se.code, Error: se.msg,
		FinishedAt: time.Now().UTC()})
	return nil
}

// setStatus writes the process's state for this boot. The exit status is retried for a while before the
// tether gives up and halts: once the machine is off it is the only record of how the process ended, and
// without it the endpoint can only say the process died with its VM (137).
func (g *guest) setStatus(ctx context.Context, st wire.GuestStatus) {
	g.statusMu.Lock()
	defer g.statusMu.Unlock()
	if g.running != nil {
		g.running.Stop() // an exit that comes first is the only status written
	}
	g.setStatusLocked(ctx, st)
}

// setStatusLocked is setStatus for a caller that holds statusMu.
func (g *guest) setStatusLocked(ctx context.Context, st wire.GuestStatus) {
	g.statusWritten = true
	st.Boot = g.cfg.Boot
	err := writeStatus(ctx, g.p, st)
	for wait := exitStatusRetry; err != nil && st.State == wire.StateExited && wait <= exitStatusRetryMax; wait *= 2 {
		g.log.Warn("write status; retrying", "state", st.State, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		err = writeStatus(ctx, g.p, st)
	}
	if err != nil {
		g.log.Error("write status", "state", st.State, "err", err)
		return
	}
	done := g.notifyStatus(wire.StatusNotice{State: st.State, Boot: st.Boot})
	if st.State == wire.StateExited {
		// The machine halts next, which hangs the line up: the notice is on its way first, unless the line
		// is stuck (then the VCH's watch of its inventory sees the exit a little later).
		select {
		case <-done:
		case <-time.After(noticeWait):
			g.log.Warn("the status notice did not go out before the halt", "after", noticeWait)
		}
		// A signal that ended the process is answered before the halt: the VCH's kill then says it worked.
		if g.srv != nil && !g.srv.awaitReplies(noticeWait) {
			g.log.Warn("a control request was not answered before the halt", "after", noticeWait)
		}
	}
}

// processStarted tells the VCH that the process has started (a pending notice, wire.StatusNotice), and
// writes st ("running") to guestinfo only once the process has run for runningAfter. A process that ends
// sooner gets its exit status only: one reconfigure of the VM instead of two, and the exit's write is not
// queued behind the start's. Until then a powered-on VM without a status of this boot reads as running, which
// it is; the notice lets a start that waits for the process answer at once.
func (g *guest) processStarted(ctx context.Context, st wire.GuestStatus) {
	st.Boot = g.cfg.Boot
	g.statusMu.Lock()
	defer g.statusMu.Unlock()
	g.processUp = true
	g.notifyStatus(wire.StatusNotice{State: st.State, Boot: st.Boot, Pending: true, Pid: st.Pid, StartedAt: st.StartedAt})
	g.running = time.AfterFunc(runningAfter, func() {
		g.statusMu.Lock()
		defer g.statusMu.Unlock()
		if g.statusWritten {
			return // the exit came first
		}
		g.setStatusLocked(ctx, st)
	})
}

// runningAfter is how long a process runs before its "running" status is written.
const runningAfter = 100 * time.Millisecond

// notifyStatus sends n to the VCH (wire.RequestStatus): a status now in guestinfo, so the VCH need not wait
// for its watch of the inventory to see the change, or the process's start. The caller holds statusMu; the
// channel is closed once the notice is written to every line open.
func (g *guest) notifyStatus(n wire.StatusNotice) <-chan struct{} {
	if g.srv == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	b, _ := json.Marshal(n)
	return g.srv.notifyStatus(b)
}

// noticeWait bounds how long the halt waits for the exit's status notice to be written to the line.
const noticeWait = 500 * time.Millisecond

// startingAfter is how long a boot may take to start its process before the tether says it is starting.
const startingAfter = 500 * time.Millisecond

// The exit status's write is retried after exitStatusRetry, then twice as long each time up to
// exitStatusRetryMax: about 25 seconds in all.
const (
	exitStatusRetry    = 100 * time.Millisecond
	exitStatusRetryMax = 12800 * time.Millisecond
)

// sessionControl is what the control channel acts on: signals go to the process, sizes to its tty.
type sessionControl struct {
	r    *reaper
	sess *session
}

func (c sessionControl) Signal(sig unix.Signal) error   { return c.r.Signal(sig) }
func (c sessionControl) Resize(rows, cols uint16) error { return c.sess.Resize(rows, cols) }
