package tether

import (
	"io"
	"log/slog"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// stdio is what attach channels need from the session.
type stdio interface {
	WriteStdin(p []byte) error
	CloseStdin()
}

// hub fans the process's output out to every open attach channel and gathers their input. Output nobody
// is attached for is not kept: the output log has it.
type hub struct {
	log       *slog.Logger
	tty       bool
	stdinOnce bool
	io        stdio

	mu       sync.Mutex
	chans    map[ssh.Channel]struct{}
	attached chan struct{} // closed when the first attach channel opens (RunBlock)
	exitCode int
	finished bool
}

func newHub(log *slog.Logger, cfg *wire.ContainerConfig, io stdio) *hub {
	return &hub{
		log: log, tty: cfg.Tty, stdinOnce: cfg.StdinOnce, io: io,
		chans: map[ssh.Channel]struct{}{}, attached: make(chan struct{}),
	}
}

// Attached is closed once any attach channel has been opened.
func (h *hub) Attached() <-chan struct{} { return h.attached }

// Add serves an accepted attach channel until it or the process ends.
func (h *hub) Add(ch ssh.Channel, reqs <-chan *ssh.Request, resize func(payload []byte) bool) {
	h.mu.Lock()
	if h.finished {
		code := h.exitCode
		h.mu.Unlock()
		sendExitStatus(ch, code)
		ch.Close()
		go ssh.DiscardRequests(reqs)
		return
	}
	h.chans[ch] = struct{}{}
	select {
	case <-h.attached:
	default:
		close(h.attached)
	}
	h.mu.Unlock()

	// A tty's size may also be set on the attach channel itself, as on an SSH session channel.
	go func() {
		for req := range reqs {
			ok := req.Type == wire.RequestWindowChange && resize(req.Payload)
			if req.WantReply {
				req.Reply(ok, nil)
			}
		}
	}()
	go h.pumpInput(ch)
}

// pumpInput copies channel data to the process's stdin. The channel's EOF is the end of the client's input,
// taken as dockerd takes it once all the input before it was written: under StdinOnce without a tty it closes
// the process's stdin and the output goes on; otherwise it ends this attach (its output) and leaves stdin
// open for the next one.
func (h *hub) pumpInput(ch ssh.Channel) {
	buf := make([]byte, 32*1024)
	for {
		n, err := ch.Read(buf)
		if n > 0 {
			if werr := h.io.WriteStdin(buf[:n]); werr != nil {
				h.log.Debug("stdin write", "err", werr)
			}
		}
		if err == io.EOF {
			if h.stdinOnce && !h.tty {
				h.io.CloseStdin()
				return
			}
			h.remove(ch)
			ch.Close()
			return
		}
		if err != nil {
			h.remove(ch)
			return
		}
	}
}

func (h *hub) remove(ch ssh.Channel) {
	h.mu.Lock()
	delete(h.chans, ch)
	h.mu.Unlock()
}

// Write sends output to every attach channel: stderr as extended data unless there is a tty. A channel
// that fails (its connection dropped) is forgotten; the process never notices.
func (h *hub) Write(stream string, p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.chans {
		var err error
		if stream == "stderr" && !h.tty {
			_, err = ch.Stderr().Write(p)
		} else {
			_, err = ch.Write(p)
		}
		if err != nil {
			delete(h.chans, ch)
			ch.Close()
		}
	}
}

// Finish sends the exit status on every attach channel and closes them; later attaches get it at once.
func (h *hub) Finish(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finished, h.exitCode = true, code
	for ch := range h.chans {
		sendExitStatus(ch, code)
		ch.Close()
		delete(h.chans, ch)
	}
}

func sendExitStatus(ch ssh.Channel, code int) {
	_, _ = ch.SendRequest(wire.RequestExitStatus, false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
}

// streamTo adapts the hub to an io.Writer for one stream.
type streamTo struct {
	h      *hub
	stream string
}

func (s streamTo) Write(p []byte) (int, error) {
	s.h.Write(s.stream, p)
	return len(p), nil
}
