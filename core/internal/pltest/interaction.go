package pltest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

var signalNumbers = map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15}

func parseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return n, nil
	}
	if n, ok := signalNumbers[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("invalid signal: %s: %w", s, errdefs.ErrInvalid)
}

// SignalContainer delivers a signal to the simulated process; KILL ends it at once.
func (b *Backend) SignalContainer(_ context.Context, id, signal string) error {
	n, err := parseSignal(signal)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return err
	}
	if !c.state.Running {
		return fmt.Errorf("container %s is not running: %w", id, errdefs.ErrConflict)
	}
	b.publishLocked(c, "kill", map[string]string{"signal": strconv.Itoa(n)})
	b.signalLocked(c, n)
	return nil
}

func (b *Backend) signalLocked(c *container, n int) {
	if n == 9 {
		b.exitLocked(c, 137, "")
		return
	}
	select {
	case c.proc.signals <- n:
	default:
	}
}

// StopContainer signals the process, waits up to timeout for it to exit, then kills it.
func (b *Backend) StopContainer(ctx context.Context, id, signal string, timeout time.Duration) (*models.ContainerInfo, error) {
	if signal == "" {
		signal = "SIGTERM"
	}
	n, err := parseSignal(signal)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	c, err := b.lookupLocked(id)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	if !c.state.Running {
		b.mu.Unlock()
		return nil, fmt.Errorf("container %s is not running: %w", id, errdefs.ErrNotModified)
	}
	p := c.proc
	b.publishLocked(c, "kill", map[string]string{"signal": strconv.Itoa(n)})
	b.signalLocked(c, n)
	b.mu.Unlock()
	var expired <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-p.done:
	case <-expired:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.proc == p && c.state.Running {
		b.exitLocked(c, 137, "")
	}
	b.publishLocked(c, "stop", nil)
	return c.info(), nil
}

// Attach serves the simulated process's streams; the first attach releases a RunBlock process.
func (b *Backend) Attach(_ context.Context, id string, opts sdk.AttachOptions) (sdk.Attachment, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	if !c.state.Running {
		return nil, fmt.Errorf("container %s is not running: you cannot attach to a stopped container, start it first: %w",
			id, errdefs.ErrConflict)
	}
	b.Attaches++
	b.publishLocked(c, "attach", nil)
	return &attachment{b: b, c: c, p: c.proc, opts: opts}, nil
}

type attachment struct {
	b    *Backend
	c    *container
	p    *process
	opts sdk.AttachOptions
}

// Serve copies stdin to the process and its output to conn until the process exits or the client leaves.
// The client's EOF closes stdin when the container has StdinOnce, as the tether does.
func (a *attachment) Serve(ctx context.Context, conn sdk.Conn) error {
	s := &sink{tty: a.c.cfg.Tty, stdout: a.opts.Stdout, stderr: a.opts.Stderr, ch: make(chan []byte, 1024)}
	a.b.mu.Lock()
	a.p.sinks[s] = struct{}{}
	select {
	case <-a.p.released:
	default:
		close(a.p.released)
	}
	a.b.mu.Unlock()
	defer func() {
		a.b.mu.Lock()
		delete(a.p.sinks, s)
		a.b.mu.Unlock()
	}()
	input := make(chan error, 1)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := conn.Read(buf)
			if n > 0 && a.opts.Stdin {
				select {
				case a.p.stdin <- append([]byte(nil), buf[:n]...):
				case <-a.p.done:
				}
			}
			if err != nil {
				if a.opts.Stdin && a.c.cfg.StdinOnce {
					a.b.mu.Lock()
					select {
					case <-a.p.eof:
					default:
						close(a.p.eof)
					}
					a.b.mu.Unlock()
				}
				input <- err
				return
			}
		}
	}()
	for {
		select {
		case data := <-s.ch:
			if _, err := conn.Write(data); err != nil {
				return nil
			}
		case <-a.p.done:
			for {
				select {
				case data := <-s.ch:
					if _, err := conn.Write(data); err != nil {
						return nil
					}
				default:
					return nil
				}
			}
		case <-input:
			input = nil // stdin ended; the output goes on
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Resize records the tty size.
func (b *Backend) Resize(_ context.Context, id string, height, width int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return err
	}
	if !c.state.Running {
		return fmt.Errorf("container %s is not running: %w", id, errdefs.ErrConflict)
	}
	c.size = [2]int64{height, width}
	b.publishLocked(c, "resize", map[string]string{"height": strconv.FormatInt(height, 10), "width": strconv.FormatInt(width, 10)})
	return nil
}
