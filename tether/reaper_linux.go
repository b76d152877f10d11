package tether

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper is PID 1's duty to wait for every child: the main process, and every orphan the kernel hands to
// PID 1. It also forwards the signals the tether receives to the main process, because PID 1 ignores
// signals it has no handler for and the container's process would never see them.
type reaper struct {
	log *slog.Logger

	mu      sync.Mutex // held while forking, so no process can be reaped before its pid is known
	mainPid int
	exited  chan int // the main process's exit code, once
	// others are the exec sessions' processes: each gets its exit code on its own channel, once.
	others map[int]chan<- int
}

// forwardedSignals are what `docker kill` and `docker stop` deliver to a containerVM's PID 1.
var forwardedSignals = []os.Signal{
	unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM,
}

func newReaper(log *slog.Logger) *reaper {
	return &reaper{log: log, exited: make(chan int, 1), others: map[int]chan<- int{}}
}

// run reaps and forwards until ctx ends.
func (r *reaper) run(ctx context.Context) {
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, unix.SIGCHLD)
	fwd := make(chan os.Signal, 8)
	signal.Notify(fwd, forwardedSignals...)
	defer signal.Stop(chld)
	defer signal.Stop(fwd)
	r.reapAll() // children that ended before Notify
	for {
		select {
		case <-ctx.Done():
			return
		case <-chld:
			r.reapAll()
		case sig := <-fwd:
			if err := r.Signal(sig.(unix.Signal)); err != nil {
				r.log.Warn("forward signal", "signal", sig.String(), "err", err)
			}
		}
	}
}

// reapAll waits for every child that has ended; SIGCHLDs coalesce, so one signal may stand for many.
func (r *reaper) reapAll() {
	for {
		var ws unix.WaitStatus
		r.mu.Lock()
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		main := r.mainPid
		other, isOther := r.others[pid]
		delete(r.others, pid)
		r.mu.Unlock()
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		code := exitCode(ws)
		if pid == main {
			r.log.Info("main process exited", "pid", pid, "exitCode", code)
			r.exited <- code
		} else if isOther {
			r.log.Debug("session process exited", "pid", pid, "exitCode", code)
			other <- code
		} else {
			r.log.Debug("reaped", "pid", pid, "exitCode", code)
		}
	}
}

// exitCode is the shell's view of a wait status: the exit status, or 128+n for a death by signal n.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// fork runs start (which forks the main process) under the reaping lock and records the pid.
func (r *reaper) fork(start func() (int, error)) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := start()
	if err == nil {
		r.mainPid = pid
	}
	return pid, err
}

// forkOther is fork for a process other than the main one (an exec session's): its exit code goes to
// exited, which must have room for it.
func (r *reaper) forkOther(exited chan<- int) func(func() (int, error)) (int, error) {
	return func(start func() (int, error)) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		pid, err := start()
		if err == nil {
			r.others[pid] = exited
		}
		return pid, err
	}
}

// Exited delivers the main process's exit code.
func (r *reaper) Exited() <-chan int { return r.exited }

// Signal delivers sig to the main process, as Docker delivers `docker kill` to the container's init.
func (r *reaper) Signal(sig unix.Signal) error {
	r.mu.Lock()
	pid := r.mainPid
	r.mu.Unlock()
	if pid == 0 {
		return errors.New("the process has not started")
	}
	return unix.Kill(pid, sig)
}

// parseSignal reads RFC 4254's signal names ("TERM"), Docker's ("SIGTERM") and numbers ("15").
func parseSignal(name string) (unix.Signal, bool) {
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), true
	}
	name = strings.ToUpper(name)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	return sig, sig != 0
}
