package simulatortests

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal is the docker CLI running on a pseudo-terminal, as in a user's shell.
type terminal struct {
	cmd  *exec.Cmd
	ptmx *os.File
	mu   sync.Mutex
	seen strings.Builder
	done chan struct{}
}

// startTerminal runs the CLI on the endpoint's unix socket, as a user's shell on the VCH has it.
func startTerminal(t *testing.T, g *guestVCH, args ...string) *terminal {
	t.Helper()
	return startTerminalOn(t, g, "unix://"+g.sock, args...)
}

// startTerminalOn runs the CLI against host (its TLS settings from g's environment).
func startTerminalOn(t *testing.T, g *guestVCH, host string, args ...string) *terminal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", host}, args...)...)
	cmd.Env = append(os.Environ(), g.env...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{cmd: cmd, ptmx: ptmx, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
	})
	return term
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()
}

// expect waits until the screen shows want after the first `from` bytes and returns the offset just past it.
func (term *terminal) expect(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(guestWait) // a safety net: a loaded machine runs guests many times slower
	for time.Now().Before(deadline) {
		if i := strings.Index(term.output()[from:], want); i >= 0 {
			return from + i + len(want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the terminal never showed %q; it shows:\n%s", want, term.output())
	return 0
}

func (term *terminal) typ(t *testing.T, s string) {
	t.Helper()
	if _, err := term.ptmx.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func (term *terminal) exitCode(t *testing.T) int {
	t.Helper()
	err := term.cmd.Wait()
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if asExit(err, &exit) {
		return exit.ExitCode()
	}
	t.Fatalf("docker: %v\n%s", err, term.output())
	return -1
}

// TestInteractiveTTY drives `docker run -it busybox sh` on a real pseudo-terminal: typed commands echo
// and run, the tty follows a resize, ctrl-p ctrl-q detaches, `docker attach` comes back, `exit 4` ends it.
func TestInteractiveTTY(t *testing.T) {
	g := startGuestVCH(t)
	term := startTerminal(t, g, "run", "-it", "--name", "tty1", g.image("busybox"), "sh")
	pos := term.expect(t, 0, "# ")
	term.typ(t, "echo hi-$((40+2))\r")
	pos = term.expect(t, pos, "hi-42")
	pos = term.expect(t, pos, "# ")

	if err := pty.Setsize(term.ptmx, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	// The CLI forwards the new size on SIGWINCH; give it a moment before asking the guest.
	time.Sleep(300 * time.Millisecond)
	term.typ(t, "stty size\r")
	pos = term.expect(t, pos, "40 100")

	term.typ(t, "\x10\x11") // ctrl-p ctrl-q
	if code := term.exitCode(t); code != 0 {
		t.Fatalf("detaching exited %d:\n%s", code, term.output())
	}
	if st := strings.TrimSpace(g.ok(t, "container", "inspect", "--format", "{{.State.Status}}", "tty1")); st != "running" {
		t.Fatalf("after detaching the container is %s", st)
	}

	again := startTerminal(t, g, "attach", "tty1")
	time.Sleep(300 * time.Millisecond)
	again.typ(t, "echo back-$((2*3))\r")
	again.expect(t, 0, "back-6")
	again.typ(t, "exit 4\r")
	if code := again.exitCode(t); code != 4 {
		t.Fatalf("docker attach exited %d, want 4:\n%s", code, again.output())
	}
	g.ok(t, "rm", "tty1")
}
