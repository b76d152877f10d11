package simulatortests

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vice-engine/vice/installer/certs"
)

// TestAttachPipedStdin is `docker attach` to a running `-i` container (no StdinOnce) with its input from a
// pipe, as dockerd answers it: the attach ends when the process exits, even while the pipe stays open, with
// the container's exit code; and when the pipe ends first, the attach's output ends with it (the client's EOF
// does not close the process's stdin without StdinOnce), the CLI waits for the container to exit and returns
// its exit code.
func TestAttachPipedStdin(t *testing.T) {
	g := startGuestVCH(t)
	script := "read l; echo got $l; exit 3"

	g.ok(t, "run", "-d", "-i", "--name", "open-pipe", g.image("busybox"), "sh", "-c", script)
	ctx, cancel := context.WithTimeout(context.Background(), cliWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "-H", g.host, "attach", "open-pipe")
	cmd.Env = append(os.Environ(), g.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close() // the pipe stays open until the attach has ended
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !asExit(err, &exit) || exit.ExitCode() != 3 || out.String() != "got x\n" {
		t.Fatalf("docker attach with its stdin still open: %v, output %q; want exit 3 and \"got x\"", err, out.String())
	}

	g.ok(t, "run", "-d", "-i", "--name", "closed-pipe", g.image("busybox"), "sh", "-c", script)
	if _, code := g.dockerStdin(t, "x\n", "attach", "closed-pipe"); code != 3 {
		t.Fatalf("echo x | docker attach exited %d, want the container's 3", code)
	}
	if logs := g.ok(t, "logs", "closed-pipe"); logs != "got x\n" {
		t.Errorf("the process read %q from the attach, want \"got x\"", logs)
	}
	if st := g.ok(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "closed-pipe"); st != "exited 3\n" {
		t.Errorf("after the attach the container is %q", st)
	}
}

// TestDetachOverTCP is ctrl-p ctrl-q typed into `docker run -it` over TCP, as the docker CLI and dockerd
// behave: over TLS (a VCH's endpoint) the CLI detaches and the container runs on; over plain TCP the CLI
// misses its own detach (its input copy goes through the TCP connection's ReadFrom, which wraps the escape
// error), half-closes and waits for the container to exit, whose stdin stays open for a later attach.
func TestDetachOverTCP(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")

	plain := startTerminalOn(t, g, g.host, "run", "-it", "--name", "plain", bb, "sh")
	pos := plain.expect(t, 0, "# ")
	plain.typ(t, "echo plain-$((40+2))\r")
	plain.expect(t, pos, "plain-42")
	plain.typ(t, "\x10\x11") // ctrl-p ctrl-q
	// A second attach types into the same shell, and the process's exit ends both: the first CLI exits with
	// the container's code, not the 0 of a detach.
	again := startTerminalOn(t, g, g.host, "attach", "plain")
	time.Sleep(300 * time.Millisecond)
	again.typ(t, "echo again-$((2*3))\r")
	again.expect(t, 0, "again-6")
	again.typ(t, "exit 4\r")
	if code := again.exitCode(t); code != 4 {
		t.Fatalf("the second attach exited %d, want 4:\n%s", code, again.output())
	}
	if code := plain.exitCode(t); code != 4 {
		t.Fatalf("the run that missed its detach exited %d, want the container's 4:\n%s", code, plain.output())
	}

	g.useTLS(t)
	tls := startTerminalOn(t, g, g.host, "run", "-it", "--name", "tls", bb, "sh")
	pos = tls.expect(t, 0, "# ")
	tls.typ(t, "echo tls-$((40+2))\r")
	tls.expect(t, pos, "tls-42")
	tls.typ(t, "\x10\x11")
	if code := tls.exitCode(t); code != 0 {
		t.Fatalf("detaching over TLS exited %d:\n%s", code, tls.output())
	}
	if st := g.ok(t, "inspect", "--format", "{{.State.Status}}", "tls"); st != "running\n" {
		t.Fatalf("after detaching over TLS the container is %q", st)
	}
	back := startTerminalOn(t, g, g.host, "attach", "tls")
	time.Sleep(300 * time.Millisecond)
	back.typ(t, "exit 5\r")
	if code := back.exitCode(t); code != 5 {
		t.Fatalf("docker attach over TLS exited %d, want 5:\n%s", code, back.output())
	}
}

// useTLS restarts g's endpoint serving its TCP address with TLS and client certificates, as a VCH made by
// vice-machine does, and points g's CLI at it with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. The containers
// keep running across the restart.
func (g *guestVCH) useTLS(t *testing.T) {
	t.Helper()
	f := certs.Folder{Dir: filepath.Join(t.TempDir(), "certs")}
	ca, _, err := f.EnsureCA("vice-e2e")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.EnsureServer(ca, certs.ServerNames{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.EnsureClient(ca, "vice-e2e-client"); err != nil {
		t.Fatal(err)
	}
	g.engArgs = append(g.engArgs, "--tlsverify", "--tlscacert", f.Path(certs.CAFile),
		"--tlscert", f.Path(certs.ServerCertFile), "--tlskey", f.Path(certs.ServerKeyFile))
	g.cliEnv = []string{"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + f.Dir}
	g.env = append(g.env, g.cliEnv...)
	g.restartEngine(t)
}
