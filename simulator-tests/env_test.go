package simulatortests

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/pluginhost"
)

// vch is one running set of vice-vcsim, vice-engine and the vcsim plugin.
type vch struct {
	dir      string // scratch: binaries' output, datastore, registry, logs
	runDir   string // the emulator's: its guests' tethers run from below it
	bin      string
	vcsimURL string
	host     string // tcp://127.0.0.1:port
	sock     string
	vcsim    *exec.Cmd
	engine   *exec.Cmd
	engLog   *syncBuffer
	engArgs  []string
	cliEnv   []string // what the CLI needs besides -H to reach the endpoint (its TLS settings)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// buildBinaries compiles the product once per test run.
func buildBinaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "vice-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/",
			"../core/cmd/vice-engine", "../plugins/vcsim/cmd/vice-vcsim", "../plugins/vcsim/cmd/vice-plugin-vcsim")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freePort is a loopback TCP port nothing listens on, for a server a test starts (and may restart on the
// same port, as an endpoint that guests dial back).
func freePort(t *testing.T) int {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	if ports.given == nil {
		ports.given = map[int]bool{}
		ports.low = ephemeralLow()
	}
	// Below the ephemeral range: no listener on port 0 and no outgoing connection is given the port between
	// this check and its use (a port of that range, free a moment ago, may be by then).
	start := rand.IntN(ports.low - freePortBase)
	for i := range ports.low - freePortBase {
		port := freePortBase + (start+i)%(ports.low-freePortBase)
		if ports.given[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		ports.given[port] = true
		return port
	}
	t.Fatalf("no free port in %d-%d", freePortBase, ports.low-1)
	return 0
}

// freePortBase is the lowest port freePort gives.
const freePortBase = 20000

// ports are the ports freePort gave to this process's tests, and where the kernel's ephemeral ports begin.
var ports struct {
	sync.Mutex
	given map[int]bool
	low   int
}

// ephemeralLow is the first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
		if low, err := strconv.Atoi(f[0]); err == nil && low > freePortBase+1000 {
			return low
		}
	}
	return 32768
}

// startVCH starts the simulator and an endpoint; everything is stopped and removed when the test ends.
func startVCH(t *testing.T, pluginArgs ...string) *vch {
	t.Helper()
	v := &vch{bin: buildBinaries(t), dir: t.TempDir()}
	ds := filepath.Join(v.dir, "datastore")
	urlFile := filepath.Join(v.dir, "vcsim.url")
	v.runDir = filepath.Join(v.dir, "guests")
	v.vcsim = v.start(t, "vice-vcsim", nil, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--datastore-dir", ds, "--url-file", urlFile, "--run-dir", v.runDir)
	waitFor(t, 20*time.Second, "vice-vcsim's URL", func() bool {
		b, err := os.ReadFile(urlFile)
		v.vcsimURL = strings.TrimSpace(string(b))
		return err == nil && v.vcsimURL != ""
	})

	// In block-disk mode (VICE_BLOCK_DISKS=1, inherited by vice-vcsim and the plugin) the endpoint, which runs
	// on this host, writes its disks through a VM that stands for the host.
	pluginArgs = append(pluginArgs, blockDiskArgs(t, v)...)
	plugins := filepath.Join(v.dir, "plugins")
	if _, err := pluginhost.WriteManifest(plugins, pluginhost.Manifest{
		Name: "vcsim", Path: filepath.Join(v.bin, "vice-plugin-vcsim"),
		Args: append([]string{"--target", v.vcsimURL, "--name", "vch-e2e"}, pluginArgs...),
	}); err != nil {
		t.Fatal(err)
	}
	v.host = fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	v.sock = filepath.Join(v.dir, "docker.sock")
	v.engLog = &syncBuffer{}
	v.engArgs = []string{"-H", v.host, "-H", "unix://" + v.sock, "--plugins-dir", plugins, "--debug"}
	v.startEngine(t)
	return v
}

// startEngine starts vice-engine and waits until it answers.
func (v *vch) startEngine(t *testing.T) {
	t.Helper()
	v.engine = v.start(t, "vice-engine", v.engLog, v.engArgs...)
	waitFor(t, 30*time.Second, "the endpoint", func() bool {
		cmd := exec.Command("docker", "-H", v.host, "version")
		cmd.Env = append(os.Environ(), v.cliEnv...)
		return cmd.Run() == nil
	})
}

// restartEngine stops vice-engine (and so its plugin) and starts a new one over the same simulator.
func (v *vch) restartEngine(t *testing.T) {
	t.Helper()
	stop(v.engine)
	v.startEngine(t)
}

// start runs one of the binaries; the test's cleanup stops it and, for the endpoint, checks no plugin is left.
func (v *vch) start(t *testing.T, name string, logs *syncBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(v.bin, name), args...)
	if logs == nil {
		logs = &syncBuffer{}
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A TMPDIR of its own (short: plugin sockets live there), removed after the process: what a process
	// killed by a test leaves there (its plugin's socket directory) goes with it.
	tmp, err := os.MkdirTemp("", "vt")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(tmp)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer os.RemoveAll(tmp)
		stop(cmd)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, logs.String())
		}
	})
	return cmd
}

// stop sends SIGTERM and waits; SIGKILL to the whole group after 10s so a failed test leaves nothing.
func stop(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// waitFor polls ok until it holds. d is ample on an idle machine; the wait allows loadSlack times as much,
// as CI runs packages two at a time on two cores and a developer's machine may run more: the bound is a
// safety net that ends a test that would hang, never a measure of speed.
func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	d *= loadSlack
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loadSlack is how many times longer than on an idle machine waitFor waits.
const loadSlack = 4

// guestWait bounds a wait for a guest to show something (a terminal's output, a setting applied): a safety
// net, not a measure.
const guestWait = 2 * time.Minute

// cliWait bounds one docker CLI command: a safety net, beyond the backend's own bound on a start (two minutes
// for the guest to report), so that a start that fails shows the engine's error rather than a killed CLI.
const cliWait = 3 * time.Minute

// docker runs the real CLI against the endpoint.
func (v *vch) docker(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", v.host}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// children lists the PIDs whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses: state, ppid, ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) && fields[0] != "Z" {
			out = append(out, child)
		}
	}
	return out
}

func processAlive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	return err == nil && !strings.Contains(string(stat), ") Z ")
}

func httpClient(v *vch) *http.Client {
	return &http.Client{Timeout: 30 * time.Second}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
