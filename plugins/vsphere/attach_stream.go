package vsphere

import (
	"io"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/plugins/sdk"
)

// attachStream is one attach channel to the tether as the port layer's sdk.Stream: the channel's data and
// extended (stderr) data become frames of their streams; writes are the process's stdin.
type attachStream struct {
	ch    ssh.Channel
	out   *io.PipeReader
	stdin bool
	once  sync.Once
}

func newAttachStream(ch ssh.Channel, reqs <-chan *ssh.Request, opts sdk.AttachOptions) *attachStream {
	go func() {
		for r := range reqs { // exit-status arrives here; the channel's close that follows ends the output
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	pr, pw := io.Pipe()
	frames := sdk.NewFrameWriter(pw)
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); copyFrames(frames, sdk.StreamStdout, ch, opts.Stdout) }()
	go func() { defer copies.Done(); copyFrames(frames, sdk.StreamStderr, ch.Stderr(), opts.Stderr) }()
	go func() { copies.Wait(); pw.Close() }()
	return &attachStream{ch: ch, out: pr, stdin: opts.Stdin}
}

// copyFrames copies one of the tether's streams until it ends. A stream the client did not ask for, or one
// whose reader is gone, is still read, so the tether's flow control never stalls on it.
func copyFrames(w *sdk.FrameWriter, stream byte, r io.Reader, wanted bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && wanted && w.WriteFrame(stream, buf[:n]) != nil {
			wanted = false
		}
		if err != nil {
			return
		}
	}
}

func (s *attachStream) Read(p []byte) (int, error) { return s.out.Read(p) }

// Write sends stdin; without stdin the bytes are dropped.
func (s *attachStream) Write(p []byte) (int, error) {
	if !s.stdin {
		return len(p), nil
	}
	return s.ch.Write(p)
}

// CloseWrite closes the process's stdin (the tether applies it when the process has StdinOnce).
func (s *attachStream) CloseWrite() error {
	if !s.stdin {
		return nil
	}
	return s.ch.CloseWrite()
}

// Close ends the attach; without a CloseWrite first the process's stdin stays open for a later one.
func (s *attachStream) Close() error {
	s.once.Do(func() {
		s.ch.Close()
		s.out.Close()
	})
	return nil
}
