package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/tether/wire"
)

// Paths of the state directory.
const (
	EngineSocket = "docker.sock" // vice-engine's unix socket, for the init's readiness check and for debugging
	PluginsDir   = "plugins"     // vice-engine's --plugins-dir
	EnginePath   = "bin/vice-engine"
)

// Engine supervision.
const (
	readyPoll      = 250 * time.Millisecond
	steadyRun      = time.Minute // an engine that ran this long restarts without back-off
	failedAfter    = 3           // exits without ever answering before the appliance reports failed
	engineTailSize = 2 << 10
)

// Back-off between restarts (variables for tests).
var (
	minRestart = time.Second
	maxRestart = 30 * time.Second
)

// EngineArgs are vice-engine's arguments: the Docker API on the appliance's address (TLS as the config
// says) and on a unix socket in the state directory, and the plugins the init registered.
func EngineArgs(cfg *vchwire.ApplianceConfig, dockerHost, state string) []string {
	args := []string{"-H", dockerHost, "-H", "unix://" + filepath.Join(state, EngineSocket),
		"--plugins-dir", filepath.Join(state, PluginsDir)}
	if backend := backendName(cfg); backend != "" {
		args = append(args, "--backend", backend)
	}
	for _, r := range cfg.InsecureRegistries {
		args = append(args, "--insecure-registry", r)
	}
	for _, m := range cfg.RegistryMirrors {
		args = append(args, "--registry-mirror", m)
	}
	for _, r := range cfg.WhitelistRegistries {
		args = append(args, "--whitelist-registry", r)
	}
	if cfg.RegistryCAs != "" { // written by writeRegistryCAs
		args = append(args, "--registry-ca", filepath.Join(state, RegistryCAFile))
	}
	for _, d := range cfg.DNS { // the VCH's --dns-server: containers that name none get these
		args = append(args, "--dns", d)
	}
	if cfg.Debug {
		args = append(args, "--debug")
	}
	certs := []string{"--tlscert", filepath.Join(state, ServerCertFile), "--tlskey", filepath.Join(state, ServerKeyFile)}
	switch cfg.TLS {
	case vchwire.TLSVerify:
		args = append(append(args, "--tlsverify", "--tlscacert", filepath.Join(state, CACertFile)), certs...)
	case vchwire.TLSServer:
		args = append(append(args, "--tls"), certs...)
	}
	return args
}

// engineEnv is the init's environment without the emulator's variables, which are the init's alone.
func engineEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case wire.EmulatorEnv, vchwire.ApplianceRootEnv, vchwire.ApplianceStateEnv, vchwire.GuestIPEnv:
			continue
		}
		env = append(env, kv)
	}
	return env
}

// engine is vice-engine as the init runs it.
type engine struct {
	path string
	args []string
	dir  string
	log  io.Writer // the engine's log file
	tail *tail
	// drained is closed once the output of the engine started last has all been copied to log and tail.
	drained chan struct{}
}

// outputDrain bounds the wait for an exited engine's last output: a process it left behind may hold the pipe.
const outputDrain = 2 * time.Second

// waitOutput waits until the exited engine's output is in its log and tail, so that its last words are
// quoted: the process is reaped before the copy has read them.
func (e *engine) waitOutput() {
	select {
	case <-e.drained:
	case <-time.After(outputDrain):
	}
}

// start runs the engine with its output in its log file.
func (e *engine) start(procs *Procs) (*Proc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: e.path, Args: append([]string{"vice-engine"}, e.args...), Env: engineEnv(), Dir: e.dir,
		Stdout: w, Stderr: w, SysProcAttr: childAttr()}
	proc, err := procs.Start(func() (*os.Process, error) {
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Process, nil
	})
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	e.tail.Reset()
	drained := make(chan struct{})
	e.drained = drained
	go func() {
		defer close(drained)
		defer r.Close()
		_, _ = io.Copy(io.MultiWriter(e.log, e.tail), r)
	}()
	return proc, nil
}

// ping asks the engine's unix socket for /_ping, as a Docker client checks a daemon.
func ping(ctx context.Context, sock string) error {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://vice-engine/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("_ping: %s", resp.Status)
	}
	return nil
}

// waitReady polls the engine until it answers (closing ready), it ends or ctx does.
func waitReady(ctx context.Context, sock string, proc *Proc, ready chan<- struct{}) {
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for {
		if ping(ctx, sock) == nil {
			close(ready)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-proc.Done():
			return
		case <-t.C:
		}
	}
}

// superviseEngine runs vice-engine until ctx ends: it is restarted when it exits (with back-off), and
// when restart is signalled (new certificates). The status follows it: running once it answers.
func (a *appliance) superviseEngine(ctx context.Context, e *engine, restart <-chan struct{}) {
	backoff := minRestart
	restarts, failures := 0, 0
	sock := filepath.Join(a.o.State, EngineSocket)
	for {
		os.Remove(sock) // a socket left by a killed engine would fail its next listen
		began := time.Now()
		proc, err := e.start(a.o.Procs)
		if err != nil {
			failures++
			a.engineDown(ctx, restarts, failures, fmt.Sprintf("start: %v", err))
		} else {
			a.log.Info("vice-engine started", "pid", proc.Pid)
			a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceStarting, Pid: proc.Pid, Restarts: restarts})
			rctx, stopReady := context.WithCancel(ctx)
			ready := make(chan struct{})
			go waitReady(rctx, sock, proc, ready)
			answered, requested := false, false
		wait:
			for {
				select {
				case <-ready:
					ready, answered, failures = nil, true, 0
					a.log.Info("vice-engine is answering", "pid", proc.Pid)
					a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceRunning, Pid: proc.Pid, Restarts: restarts})
					a.status.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State, s.Error = vchwire.ApplianceRunning, "" })
				case <-restart:
					a.log.Info("restarting vice-engine", "why", "new certificates")
					requested = true
					proc.Stop(context.WithoutCancel(ctx), a.o.StopTimeout)
				case <-ctx.Done():
					stopReady()
					proc.Stop(context.WithoutCancel(ctx), a.o.StopTimeout)
					a.log.Info("vice-engine stopped", "exit", proc.String())
					a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceStopped, Restarts: restarts})
					return
				case <-proc.Done():
					break wait
				}
			}
			stopReady()
			restarts++
			if requested {
				backoff = minRestart
				continue
			}
			if !answered {
				failures++
			}
			e.waitOutput()
			why := proc.String()
			if out := e.tail.String(); out != "" {
				why += ": " + lastLines(out, 5)
			}
			a.log.Warn("vice-engine exited", "exit", proc.String(), "ranFor", time.Since(began).Round(time.Millisecond))
			a.engineDown(ctx, restarts, failures, why)
		}
		if time.Since(began) > steadyRun {
			backoff = minRestart
		}
		select {
		case <-ctx.Done():
			a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceStopped, Restarts: restarts})
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRestart)
	}
}

// engineDown reports an engine that is not running: starting again, or failed when it never answers.
func (a *appliance) engineDown(ctx context.Context, restarts, failures int, why string) {
	a.status.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceRestarting, Restarts: restarts, Error: why})
	a.status.Update(ctx, func(s *vchwire.ApplianceStatus) {
		if failures >= failedAfter {
			s.State, s.Error = vchwire.ApplianceFailed, "vice-engine does not start: "+why
		} else {
			s.State, s.Error = vchwire.ApplianceStarting, ""
		}
	})
}

// lastLines is the end of s, at most n lines.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RegistryCAFile is where the init writes the VCH's registry CA certificates for vice-engine.
const RegistryCAFile = "registry-ca.pem"

// writeRegistryCAs writes the registry CA certificates of cfg (or removes an old file when there are none).
func writeRegistryCAs(cfg *vchwire.ApplianceConfig, state string) error {
	p := filepath.Join(state, RegistryCAFile)
	if cfg.RegistryCAs == "" {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return os.WriteFile(p, []byte(cfg.RegistryCAs), 0o644)
}
