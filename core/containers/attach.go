package containers

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// AttachOptions are POST /containers/{id}/attach's parameters.
type AttachOptions struct {
	Stream, Logs          bool
	Stdin, Stdout, Stderr bool
	DetachKeys            string

	raw bool // the output as the process wrote it, both streams together, without Docker's framing (Run)
}

// Attachment is a client attach, registered from the moment it is accepted: a start that comes while it
// waits leaves the process held for it (RunBlock), so the client sees every byte.
type Attachment struct {
	s    *Service
	r    *record
	o    AttachOptions
	once sync.Once
}

// Attach accepts an attach to the container ref. Call Serve, or Close when the client is not served.
func (s *Service) Attach(ctx context.Context, ref string, o AttachOptions) (*Attachment, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	a := &Attachment{s: s, r: r, o: o}
	if o.Stream {
		s.mu.Lock()
		s.attaching[r.ID]++
		s.mu.Unlock()
	}
	return a, nil
}

// Tty says the output is raw rather than multiplexed.
func (a *Attachment) Tty() bool { return a.r.Config.Tty }

// Close gives up the attach's claim on the process.
func (a *Attachment) Close() {
	a.once.Do(func() {
		if !a.o.Stream {
			return
		}
		a.s.mu.Lock()
		defer a.s.mu.Unlock()
		if a.s.attaching[a.r.ID]--; a.s.attaching[a.r.ID] <= 0 {
			delete(a.s.attaching, a.r.ID)
		}
	})
}

// eof marks the end of the client's input.
var eof = []byte(nil)

// Serve replays the past output when Logs is set, then (with Stream) waits for the process and splices the
// client with it: in is the client's input (its EOF, a half-close, closes the process's stdin), out
// receives the output. It returns when the output ends (the process exited or the client detached), the
// client goes away, or ctx ends.
func (a *Attachment) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	defer a.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	input := make(chan []byte, 16)
	if a.o.Stream {
		go pumpInput(ctx, in, input, cancel)
	}
	if a.o.Logs {
		logs, err := a.s.Logs(ctx, a.r.ID, LogsOptions{Stdout: a.o.Stdout, Stderr: a.o.Stderr})
		if err == nil {
			err = logs.WriteTo(out, nil)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalid) {
			return err
		}
	}
	if !a.o.Stream {
		return nil
	}
	if err := a.s.waitRunning(ctx, a.r.ID); err != nil {
		return err
	}
	spec := a.o.DetachKeys
	if spec == "" && a.o.Stdin && a.r.process.Tty {
		spec = defaultDetachKeys // Docker's, for an interactive tty
	}
	var keys []byte
	if spec != "" {
		var err error
		if keys, err = parseDetachKeys(spec); err != nil {
			return err
		}
	}
	stdin := a.o.Stdin && a.r.process.OpenStdin
	st, err := a.s.pl.AttachContainer(ctx, a.r.ID, sdk.AttachOptions{Stdin: stdin, Stdout: a.o.Stdout, Stderr: a.o.Stderr})
	a.Close()
	if errors.Is(err, errdefs.ErrConflict) {
		return nil // the process ended before we got to it: nothing more to show
	}
	if err != nil {
		return err
	}
	defer st.Close()
	a.s.log.Debug("attached", "container", a.r.ID, "stdin", a.o.Stdin, "tty", a.r.process.Tty)
	feed := stdinFeed{st: st, stdin: stdin, keys: detachFilter{keys: keys}}
	go feed.run(ctx, input)
	copied := make(chan error, 1)
	go func() { copied <- newDockerStream(out, a.r.process.Tty || a.o.raw).copyFrames(st) }()
	select {
	case <-copied:
		return nil
	case <-ctx.Done():
		return nil
	}
}

// pumpInput reads the client from the start, so input sent before the process runs waits in the channel
// (`echo hi | docker run -i` sends and half-closes at once). Its end is eof; a read error means the client
// is gone.
func pumpInput(ctx context.Context, in io.Reader, input chan<- []byte, gone context.CancelFunc) {
	send := func(p []byte) bool {
		select {
		case input <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 && !send(append([]byte(nil), buf[:n]...)) {
			return
		}
		if err == io.EOF {
			send(eof)
			return
		}
		if err != nil {
			gone()
			return
		}
	}
}

// stdinFeed writes a client's input to the process as Docker does. The detach keys end the attach and leave
// the process's stdin open. The client's end of input is the port layer's half-close, which comes after the
// input and so never overtakes it: it closes the process's stdin when the container has StdinOnce and no tty
// (`echo hi | docker run -i`), and the output goes on; otherwise the backend ends the attach's output, as
// dockerd does, once the input reached the process. An attach without stdin reads and drops the input, and
// its end changes nothing.
type stdinFeed struct {
	st    sdk.Stream
	stdin bool
	keys  detachFilter
}

func (f *stdinFeed) run(ctx context.Context, input <-chan []byte) {
	for {
		select {
		case p := <-input:
			switch {
			case !f.stdin && p == nil:
				return
			case !f.stdin:
				continue
			case p == nil:
				_ = f.st.CloseWrite()
				return
			}
			fwd, detach := f.keys.filter(p)
			if len(fwd) > 0 {
				if _, err := f.st.Write(fwd); err != nil {
					return
				}
			}
			if detach {
				f.st.Close()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
