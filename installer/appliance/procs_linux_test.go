package appliance

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// As PID 1 would, a reaping Procs hands its own children's exit statuses to them and reaps the orphans
// it inherits. The test process stands in for PID 1 as a child subreaper for the duration of the test.
func TestProcsReapAll(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skip("no child subreaper:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	procs := NewProcs(slog.New(slog.DiscardHandler), true)
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		procs.Reap(ctx)
	}()
	defer func() {
		cancel()
		<-reaped
		procs.reapOnce() // anything that ended since
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	}()

	pidFile := filepath.Join(t.TempDir(), "orphan")
	cmd := exec.Command("/bin/sh", "-c", `sleep 0.3 & echo $! > "$1"; exit 7`, "sh", pidFile)
	proc, err := procs.Start(func() (*os.Process, error) {
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Process, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the child's exit was not delivered")
	}
	if proc.ExitCode() != 7 || proc.String() != "exit status 7" {
		t.Errorf("exit %d %q", proc.ExitCode(), proc)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	orphan, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	waitFor(t, "the orphan to be reaped", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(orphan)))
		return os.IsNotExist(err) // a zombie keeps its /proc entry until reaped
	})
	if err := proc.Signal(unix.SIGTERM); err != os.ErrProcessDone {
		t.Errorf("signal after exit: %v", err)
	}
}

// A process that ignores SIGTERM is killed after the timeout.
func TestProcStop(t *testing.T) {
	procs := NewProcs(slog.New(slog.DiscardHandler), false)
	cmd := exec.Command("/bin/sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	proc, err := procs.Start(func() (*os.Process, error) {
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Process, nil
	})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	r.Close()
	start := time.Now()
	proc.Stop(context.Background(), 200*time.Millisecond)
	if d := time.Since(start); d < 200*time.Millisecond || proc.ExitCode() != 128+9 {
		t.Errorf("stopped after %v with %d (%s)", d, proc.ExitCode(), proc)
	}
}
