package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Procs starts and waits for the appliance's processes. As PID 1 it must also reap the orphans the kernel
// hands it, so it waits for any child and hands each known one's status to its Proc; otherwise (tests, a
// hand-run init) it waits for each of its own children only, leaving the rest of the process alone.
type Procs struct {
	log     *slog.Logger
	reapAll bool

	mu      sync.Mutex // held across a start and its registration, so a fast exit is never missed
	waiting map[int]*Proc
}

// NewProcs makes a process starter; reapAll is for PID 1, which must then call Reap.
func NewProcs(log *slog.Logger, reapAll bool) *Procs {
	return &Procs{log: log, reapAll: reapAll, waiting: map[int]*Proc{}}
}

// Proc is a started process.
type Proc struct {
	Pid     int
	process *os.Process
	done    chan struct{}
	status  syscall.WaitStatus
	err     error
}

// Start runs start (which starts one process, usually exec.Cmd.Start) and tracks the process. Nothing may
// wait for it but this Procs: not exec.Cmd.Wait, so its Stdin, Stdout and Stderr must be files.
func (p *Procs) Start(start func() (*os.Process, error)) (*Proc, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	proc, err := start()
	if err != nil {
		return nil, err
	}
	pr := &Proc{Pid: proc.Pid, process: proc, done: make(chan struct{})}
	if p.reapAll {
		p.waiting[proc.Pid] = pr
		return pr, nil
	}
	go func() {
		st, err := proc.Wait()
		if st != nil {
			pr.status, _ = st.Sys().(syscall.WaitStatus)
		}
		pr.err = err
		close(pr.done)
	}()
	return pr, nil
}

// Reap waits for children until ctx ends; only for a Procs made with reapAll.
func (p *Procs) Reap(ctx context.Context) {
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, unix.SIGCHLD)
	defer signal.Stop(chld)
	tick := time.NewTicker(10 * time.Second) // in case a signal was coalesced away
	defer tick.Stop()
	for {
		p.reapOnce()
		select {
		case <-ctx.Done():
			return
		case <-chld:
		case <-tick.C:
		}
	}
}

// reapOnce waits for every child that has ended.
func (p *Procs) reapOnce() {
	for {
		var ws unix.WaitStatus
		p.mu.Lock()
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		pr := p.waiting[pid]
		delete(p.waiting, pid)
		p.mu.Unlock()
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if pr == nil {
			p.log.Debug("reaped an orphan", "pid", pid)
			continue
		}
		pr.status = syscall.WaitStatus(ws)
		_ = pr.process.Release()
		close(pr.done)
	}
}

// Done is closed when the process has ended.
func (pr *Proc) Done() <-chan struct{} { return pr.done }

// ExitCode is the shell's view of how the process ended: its status, or 128+n for signal n; valid once
// Done is closed.
func (pr *Proc) ExitCode() int {
	if pr.status.Signaled() {
		return 128 + int(pr.status.Signal())
	}
	return pr.status.ExitStatus()
}

// String describes how the process ended.
func (pr *Proc) String() string {
	switch {
	case pr.err != nil:
		return pr.err.Error()
	case pr.status.Signaled():
		return "killed by " + pr.status.Signal().String()
	default:
		return fmt.Sprintf("exit status %d", pr.status.ExitStatus())
	}
}

// Signal sends sig, unless the process has ended.
func (pr *Proc) Signal(sig os.Signal) error {
	select {
	case <-pr.done:
		return os.ErrProcessDone
	default:
	}
	return pr.process.Signal(sig)
}

// Stop asks the process to end with SIGTERM and kills it when it has not after timeout; it returns when
// the process has ended or ctx is done.
func (pr *Proc) Stop(ctx context.Context, timeout time.Duration) {
	_ = pr.Signal(unix.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-pr.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	_ = pr.Signal(unix.SIGKILL)
	select {
	case <-pr.done:
	case <-ctx.Done():
	}
}
