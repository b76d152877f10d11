package tether

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/vice-engine/vice/tether/wire"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// output is one stream the tether reads from the process.
type output struct {
	stream string // wire.LogRecord's stream name
	r      *os.File
}

// session is the container's main process and the tether's ends of its stdio. The stdio exists before
// the process starts, so attach input and window changes that arrive early are not lost.
type session struct {
	cfg     *wire.ContainerConfig
	master  *os.File   // the pty master when cfg.Tty
	child   []*os.File // the process's stdin, stdout, stderr; closed here once it started
	outputs []output

	stdinMu sync.Mutex
	stdin   io.WriteCloser // nil when the process has no open stdin
}

func newSession(cfg *wire.ContainerConfig) (*session, error) {
	s := &session{cfg: cfg}
	if cfg.Tty {
		master, slave, err := openPTY()
		if err != nil {
			return nil, err
		}
		s.master = master
		s.child = []*os.File{slave, slave, slave}
		s.outputs = []output{{"stdout", master}}
		if cfg.OpenStdin {
			s.stdin = master
		}
		return s, nil
	}
	var in *os.File
	if cfg.OpenStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		in, s.stdin = r, w
	} else {
		// Docker gives a container without -i an empty stdin.
		null, err := os.Open(os.DevNull)
		if err != nil {
			return nil, err
		}
		in = null
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.child = []*os.File{in, outW, errW}
	s.outputs = []output{{"stdout", outR}, {"stderr", errR}}
	return s, nil
}

// WriteStdin passes attach input to the process; it is dropped when stdin is not open.
func (s *session) WriteStdin(p []byte) error {
	s.stdinMu.Lock()
	defer s.stdinMu.Unlock()
	if s.stdin == nil {
		return nil
	}
	_, err := s.stdin.Write(p)
	return err
}

// CloseStdin ends the process's input (StdinOnce). A tty's master also carries the output, so it stays.
func (s *session) CloseStdin() {
	s.stdinMu.Lock()
	defer s.stdinMu.Unlock()
	if s.stdin != nil && s.master == nil {
		s.stdin.Close()
	}
	s.stdin = nil
}

// Resize sets the tty size. Without a tty there is nothing to resize, and that is no error: Docker answers
// a resize of a running container without a tty with 200 (containerd's shim ignores it).
func (s *session) Resize(rows, cols uint16) error {
	if s.master == nil {
		return nil
	}
	return setWinsize(s.master, rows, cols)
}

// processEnv is the config's environment completed as Docker completes it.
func processEnv(cfg *wire.ContainerConfig, u *execUser) []string {
	env := append([]string(nil), cfg.Env...)
	has := func(name string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, name+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		env = append(env, "PATH="+defaultPath)
	}
	if !has("HOSTNAME") && cfg.Hostname != "" {
		env = append(env, "HOSTNAME="+cfg.Hostname)
	}
	if !has("HOME") {
		env = append(env, "HOME="+u.Home)
	}
	if cfg.Tty && !has("TERM") {
		env = append(env, "TERM=xterm")
	}
	return env
}

func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// start resolves the user, working directory and executable, then forks the process in its own session
// (with the tty as its controlling terminal). fork is the reaper's hook that records the pid before any
// exit can be reaped.
func (s *session) start(fork func(func() (int, error)) (int, error)) (int, error) {
	defer s.closeChildFiles()
	u, err := resolveUserInRoot(s.cfg.User)
	if err != nil {
		return 0, &startError{code: exitStartFailed, msg: err.Error()}
	}
	dir := s.cfg.WorkingDir
	if dir == "" {
		dir = "/"
	}
	// Docker creates a missing working directory rather than failing.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, &startError{code: exitStartFailed, msg: fmt.Sprintf("working directory %s: %v", dir, err)}
	}
	env := processEnv(s.cfg, u)
	path, err := lookPath(s.cfg.Path, envValue(env, "PATH"), dir)
	if err != nil {
		return 0, err
	}
	attr := &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []uintptr{s.child[0].Fd(), s.child[1].Fd(), s.child[2].Fd()},
		Sys: &syscall.SysProcAttr{
			Setsid:     true,
			Setctty:    s.cfg.Tty,
			Ctty:       0, // the child's stdin, which is the pty slave when there is a tty
			Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups},
		},
	}
	argv := append([]string{s.cfg.Path}, s.cfg.Args...)
	pid, err := fork(func() (int, error) { return syscall.ForkExec(path, argv, attr) })
	if err != nil {
		return 0, startFailure(execError(s.cfg.Path, err))
	}
	return pid, nil
}

// closeChildFiles drops the tether's copies of the process's ends, so the outputs end when it exits.
func (s *session) closeChildFiles() {
	for _, f := range s.child {
		f.Close()
	}
}
