package tether_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// The harness plays the hypervisor emulator: it prepares a busybox root, hands the tether the emulator's
// file descriptors, starts it as PID 1 of new namespaces, and talks to it over SSH on the serial socket.

var (
	buildOnce sync.Once
	binDir    string
	tetherBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// requireGuest skips where guests cannot run and builds the static tether once.
func requireGuest(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces, mounts and pivot_root")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("needs Debian's busybox-static (make busybox)")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "tether-bin")
		if buildErr != nil {
			return
		}
		tetherBin = filepath.Join(binDir, "tether")
		cmd := exec.Command("go", "build", "-o", tetherBin, "./cmd/tether")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build tether: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// makeRoot is an image root: busybox with its applets in /bin, and passwd/group with root and nobody.
func makeRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	must(t, os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "root"), 0o700))
	bb, err := os.ReadFile("/bin/busybox")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755))
	out, err := exec.Command("/bin/busybox", "--list").Output()
	must(t, err)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			must(t, os.Symlink("busybox", filepath.Join(root, "bin", applet)))
		}
	}
	must(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(
		"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "etc/group"), []byte(
		"root:x:0:\nstaff:x:50:nobody\nnogroup:x:65534:\n"), 0o644))
	must(t, os.Chtimes(filepath.Join(root, "etc"), imageTime, imageTime))
	return root
}

// imageTime is when the image's /etc was last changed.
var imageTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// guest is one tether run under the harness.
type guest struct {
	t         *testing.T
	cfg       wire.ContainerConfig
	sock      string
	outputLog string
	debugLog  string
	gi        *guestInfoServer
	cmd       *exec.Cmd
	stderr    bytes.Buffer
	exited    chan struct{}
	exitErr   error
}

// startGuest boots a containerVM with cfg the way the emulator does.
func startGuest(t *testing.T, cfg wire.ContainerConfig) *guest {
	t.Helper()
	requireGuest(t)
	if cfg.ID == "" {
		cfg.ID = "c0ffee" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")
	}
	root := makeRoot(t)
	dir := t.TempDir()
	// A unix socket path must stay under 108 bytes; TempDir paths can be long.
	sockDir, err := os.MkdirTemp("", "vt")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	g := &guest{t: t, cfg: cfg, sock: filepath.Join(sockDir, "serial"),
		outputLog: filepath.Join(dir, "output.log"), debugLog: filepath.Join(dir, "tether.debug"),
		exited: make(chan struct{})}

	l, err := net.Listen("unix", g.sock)
	must(t, err)
	t.Cleanup(func() { l.Close() })
	serial, err := l.(*net.UnixListener).File()
	must(t, err)
	defer serial.Close()
	outLog := openLog(t, g.outputLog)
	defer outLog.Close()
	dbgLog := openLog(t, g.debugLog)
	defer dbgLog.Close()

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(t, err)
	ours, theirs := os.NewFile(uintptr(fds[0]), "guestinfo"), os.NewFile(uintptr(fds[1]), "guestinfo")
	defer theirs.Close()
	conn, err := net.FileConn(ours)
	ours.Close()
	must(t, err)
	b, err := json.Marshal(cfg)
	must(t, err)
	g.gi = newGuestInfoServer(conn, map[string]string{wire.KeyConfig: string(b), wire.KeyID: cfg.ID})
	t.Cleanup(func() { conn.Close() })

	g.cmd = exec.Command(tetherBin)
	g.cmd.Env = []string{wire.EmulatorEnv + "=1", wire.RootEnv + "=" + root}
	// ExtraFiles[i] becomes fd 3+i: serial, output log, debug log, guestinfo, as tether/wire numbers them.
	g.cmd.ExtraFiles = []*os.File{serial, outLog, dbgLog, theirs}
	g.cmd.Stdout, g.cmd.Stderr = &g.stderr, &g.stderr
	g.cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
	}
	must(t, g.cmd.Start())
	go func() { g.exitErr = g.cmd.Wait(); close(g.exited) }()
	// Killing PID 1 of the namespace kills every process in it; the mount namespace dies with them.
	t.Cleanup(func() {
		select {
		case <-g.exited:
		default:
			g.cmd.Process.Kill()
			<-g.exited
		}
		if t.Failed() {
			t.Logf("tether stderr:\n%s", g.stderr.String())
			dbg, _ := os.ReadFile(g.debugLog)
			t.Logf("tether.debug:\n%s", dbg)
		}
	})
	return g
}

func openLog(t *testing.T, path string) *os.File {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	must(t, err)
	return f
}

// guestWait bounds a test's wait for a guest (its boot, output, exit or session): a safety net that ends a test
// that would hang, not a measure (a loaded machine runs guests many times slower).
const guestWait = 2 * time.Minute

// wait waits for the tether to power off (exit) and checks that it did so cleanly.
func (g *guest) wait() {
	g.t.Helper()
	select {
	case <-g.exited:
	case <-time.After(guestWait):
		g.t.Fatalf("tether did not power off")
	}
	if g.exitErr != nil {
		g.t.Fatalf("tether exited: %v", g.exitErr)
	}
}

// status is the GuestStatus the tether last wrote.
func (g *guest) status() wire.GuestStatus {
	g.t.Helper()
	var st wire.GuestStatus
	v, ok := g.gi.get(wire.KeyStatus)
	if !ok {
		g.t.Fatalf("no status in guestinfo")
	}
	must(g.t, json.Unmarshal([]byte(v), &st))
	return st
}

// waitState polls guestinfo until the tether reports state.
func (g *guest) waitState(state string) {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if v, ok := g.gi.get(wire.KeyStatus); ok && strings.Contains(v, `"state":"`+state+`"`) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("status never became %s", state)
}

// records reads the output log.
func (g *guest) records() []wire.LogRecord {
	g.t.Helper()
	f, err := os.Open(g.outputLog)
	must(g.t, err)
	defer f.Close()
	var recs []wire.LogRecord
	s := bufio.NewScanner(f)
	for s.Scan() {
		var r wire.LogRecord
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			g.t.Fatalf("log line %q: %v", s.Text(), err)
		}
		if r.Time.IsZero() {
			g.t.Errorf("log record without time: %s", s.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

// streamText joins the log records of one stream.
func (g *guest) streamText(stream string) string {
	var b strings.Builder
	for _, r := range g.records() {
		if r.Stream == stream {
			b.WriteString(r.Log)
		}
	}
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
