package pltest

import (
	"context"
	"encoding/binary"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// process simulates a container's main process from its wire config. The programs it knows:
// echo ARGS, sh -c "exit N", true, false, sleep (until signalled), cat (stdin to stdout), env, pwd,
// hostname, id, logtest (stdout "out1", stderr "err1", stdout "out2"). A path under /nonexistent fails to
// start with 127, /noexec with 126, any other program is "executable file not found in $PATH".
type process struct {
	released chan struct{} // closed when the process may start (at once, or at the first attach under RunBlock)
	done     chan struct{} // closed when it has exited
	signals  chan int
	stdin    chan []byte
	eof      chan struct{} // closed when stdin is closed
	sinks    map[*sink]struct{}
}

// sink is one attach client's share of the output, in Docker's stream format.
type sink struct {
	tty            bool
	stdout, stderr bool
	ch             chan []byte
}

func newProcess(cfg wire.ContainerConfig) *process {
	p := &process{released: make(chan struct{}), done: make(chan struct{}), signals: make(chan int, 4),
		stdin: make(chan []byte, 64), eof: make(chan struct{}), sinks: map[*sink]struct{}{}}
	if !cfg.RunBlock {
		close(p.released)
	}
	return p
}

// StartContainer starts the simulated process and returns once it runs or failed to start.
func (b *Backend) StartContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	b.mu.Lock()
	c, err := b.lookupLocked(id)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	if c.state.Running {
		b.mu.Unlock()
		return nil, fmt.Errorf("container %s is already running: %w", id, errdefs.ErrNotModified)
	}
	if b.StartErr != nil {
		b.mu.Unlock()
		return nil, b.StartErr
	}
	c.boot++
	c.status, c.state = "running", models.ContainerState{Running: true}
	p := newProcess(c.cfg)
	c.proc = p
	b.publishLocked(c, "start", nil)
	b.cond.Broadcast()
	b.mu.Unlock()

	select {
	case <-p.released:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.proc == p && c.state.Running {
		b.launchLocked(c, p)
	}
	return c.info(), nil
}

// launchLocked starts the program, or fails the start as the tether does.
func (b *Backend) launchLocked(c *container, p *process) {
	prog := c.cfg.Path
	switch {
	case strings.HasPrefix(prog, "/nonexistent"):
		msg := fmt.Sprintf("exec: %q: stat %s: no such file or directory", prog, prog)
		b.outputLocked(c, "stderr", msg+"\n")
		b.exitLocked(c, 127, msg)
		return
	case strings.HasPrefix(prog, "/noexec"):
		msg := fmt.Sprintf("exec: %q: permission denied", prog)
		b.outputLocked(c, "stderr", msg+"\n")
		b.exitLocked(c, 126, msg)
		return
	}
	run, ok := programs[path.Base(prog)]
	if !ok {
		msg := fmt.Sprintf("exec: %q: executable file not found in $PATH", prog)
		b.outputLocked(c, "stderr", msg+"\n")
		b.exitLocked(c, 127, msg)
		return
	}
	c.state.Pid = 42
	c.state.StartedAt = time.Now().UTC().Format(time.RFC3339Nano)
	go run(b, c, p)
}

// programs are the simulated executables.
var programs = map[string]func(b *Backend, c *container, p *process){
	"echo": func(b *Backend, c *container, p *process) {
		b.finish(c, p, 0, "stdout", strings.Join(c.cfg.Args, " ")+"\n")
	},
	"true":  func(b *Backend, c *container, p *process) { b.finish(c, p, 0) },
	"false": func(b *Backend, c *container, p *process) { b.finish(c, p, 1) },
	"sh": func(b *Backend, c *container, p *process) {
		code := 0
		if len(c.cfg.Args) == 2 && c.cfg.Args[0] == "-c" && strings.HasPrefix(c.cfg.Args[1], "exit ") {
			code, _ = strconv.Atoi(strings.TrimPrefix(c.cfg.Args[1], "exit "))
		}
		b.finish(c, p, code)
	},
	"env": func(b *Backend, c *container, p *process) {
		b.finish(c, p, 0, "stdout", strings.Join(c.cfg.Env, "\n")+"\n")
	},
	"pwd": func(b *Backend, c *container, p *process) {
		b.finish(c, p, 0, "stdout", or(c.cfg.WorkingDir, "/")+"\n")
	},
	"hostname": func(b *Backend, c *container, p *process) { b.finish(c, p, 0, "stdout", c.cfg.Hostname+"\n") },
	"id": func(b *Backend, c *container, p *process) {
		b.finish(c, p, 0, "stdout", "user="+or(c.cfg.User, "root")+"\n")
	},
	"logtest": func(b *Backend, c *container, p *process) {
		b.finish(c, p, 0, "stdout", "out1\n", "stderr", "err1\n", "stdout", "out2\n")
	},
	"sleep": func(b *Backend, c *container, p *process) {
		select {
		case sig := <-p.signals:
			b.finish(c, p, 128+sig)
		case <-p.done:
		}
	},
	"cat": func(b *Backend, c *container, p *process) {
		for {
			select {
			case data := <-p.stdin:
				b.mu.Lock()
				b.outputLocked(c, "stdout", string(data))
				b.mu.Unlock()
			case <-p.eof:
				var rest []string
				for len(p.stdin) > 0 {
					rest = append(rest, "stdout", string(<-p.stdin))
				}
				b.finish(c, p, 0, rest...)
				return
			case sig := <-p.signals:
				b.finish(c, p, 128+sig)
				return
			case <-p.done:
				return
			}
		}
	},
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// finish writes output (stream, text pairs) and ends the process with code, unless it already ended.
func (b *Backend) finish(c *container, p *process, code int, output ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.proc != p || !c.state.Running {
		return
	}
	for i := 0; i+1 < len(output); i += 2 {
		b.outputLocked(c, output[i], output[i+1])
	}
	b.exitLocked(c, code, "")
}

// outputLocked records one write of the process in the log and hands it to every attached client.
func (b *Backend) outputLocked(c *container, stream, text string) {
	c.logs = append(c.logs, wire.LogRecord{Log: text, Stream: stream, Time: time.Now().UTC()})
	if c.proc != nil {
		for s := range c.proc.sinks {
			if (stream == "stdout" && !s.stdout) || (stream == "stderr" && !s.stderr) {
				continue
			}
			select {
			case s.ch <- frame(s.tty, stream, []byte(text)):
			default: // a client that stopped reading misses output, as with the tether
			}
		}
	}
	b.cond.Broadcast()
}

func frame(tty bool, stream string, p []byte) []byte {
	if tty {
		return append([]byte(nil), p...)
	}
	f := make([]byte, 8+len(p))
	f[0] = 1
	if stream == "stderr" {
		f[0] = 2
	}
	binary.BigEndian.PutUint32(f[4:], uint32(len(p)))
	copy(f[8:], p)
	return f
}

// exitLocked ends the running process with code and publishes "die", as the backend's VM watch does.
func (b *Backend) exitLocked(c *container, code int, errMsg string) {
	c.status = "exited"
	c.state.Running = false
	c.state.ExitCode = int64(code)
	c.state.Error = errMsg
	c.state.FinishedAt = time.Now().UTC().Format(time.RFC3339Nano)
	if c.proc != nil {
		select {
		case <-c.proc.done:
		default:
			close(c.proc.done)
		}
		select {
		case <-c.proc.released:
		default:
			close(c.proc.released)
		}
	}
	b.publishLocked(c, "die", map[string]string{"exitCode": strconv.Itoa(code)})
	b.cond.Broadcast()
}
