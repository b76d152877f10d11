package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/tether/wire"
)

// Waits for a guest's serial line: a container just started may not have connected yet.
const (
	attachConnectWait  = 10 * time.Second
	controlConnectWait = 5 * time.Second
)

var (
	_ sdk.ContainerStore = (*Backend)(nil)
	_ sdk.Interaction    = (*Backend)(nil)
)

// Attach checks that the container runs and that its tether is connected; the session's channel is opened
// when the sdk serves it.
func (b *Backend) Attach(ctx context.Context, id string, opts sdk.AttachOptions) (sdk.Attachment, error) {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.state().Running {
		return nil, fmt.Errorf("container %s is not running: you cannot attach to a stopped container, start it first: %w",
			id, errdefs.ErrConflict)
	}
	var cfg wire.ContainerConfig
	_ = json.Unmarshal([]byte(c.extra[wire.KeyConfig]), &cfg) // checked at create; a zero config means no tty
	g, err := b.ctr.attach.guest(ctx, id, attachConnectWait)
	if err != nil {
		return nil, err
	}
	b.publishContainer(c, "attach", nil)
	return &attachment{guest: g, opts: opts, tty: cfg.Tty, stdinOnce: cfg.StdinOnce}, nil
}

// Resize sends the new tty size to the tether.
func (b *Backend) Resize(ctx context.Context, id string, height, width int64) error {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return err
	}
	if !c.state().Running {
		return fmt.Errorf("container %s is not running: %w", id, errdefs.ErrConflict)
	}
	g, err := b.ctr.attach.guest(ctx, id, controlConnectWait)
	if err != nil {
		return err
	}
	// RFC 4254 §6.7: columns, rows, then the size in pixels (unknown).
	payload := ssh.Marshal(struct{ Cols, Rows, Width, Height uint32 }{uint32(width), uint32(height), 0, 0})
	if err := g.request(ctx, wire.RequestWindowChange, payload); err != nil {
		return err
	}
	b.publishContainer(c, "resize", map[string]string{
		"height": strconv.FormatInt(height, 10), "width": strconv.FormatInt(width, 10)})
	return nil
}

// signalGuest sends a signal request (RFC 4254 §6.9, the name without "SIG") on the control channel.
func (b *Backend) signalGuest(ctx context.Context, id, name string) error {
	g, err := b.ctr.attach.guest(ctx, id, controlConnectWait)
	if err != nil {
		return err
	}
	return g.request(ctx, wire.RequestSignal, ssh.Marshal(struct{ Signal string }{name}))
}

// attachment is one client's view of the main process's streams.
type attachment struct {
	guest     *guestConn
	opts      sdk.AttachOptions
	tty       bool
	stdinOnce bool
}

// errDetached ends a session whose client typed the detach keys.
var errDetached = errors.New("detached")

// Serve copies the client's stdin to the tether and the process's output to the client until the process
// exits (the tether closes the channel after exit-status), the client detaches or goes away, or ctx ends.
func (a *attachment) Serve(ctx context.Context, conn sdk.Conn) error {
	ch, reqs, err := a.guest.conn.OpenChannel(wire.ChannelAttach, nil)
	if err != nil {
		return fmt.Errorf("open an attach channel to container %s: %w", a.guest.id, errdefs.Classed(err, errdefs.ErrUnavailable))
	}
	// Closing without CloseWrite leaves the process's stdin open: a detached client may come back.
	defer ch.Close()
	go func() {
		for r := range reqs { // exit-status arrives here; the channel's close that follows ends the output
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()

	input := make(chan error, 1)
	ended := (<-chan error)(input)
	out := newClientWriter(conn, a.tty)
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); out.copyFrom(ch, 1, a.opts.Stdout) }()
	go func() { defer copies.Done(); out.copyFrom(ch.Stderr(), 2, a.opts.Stderr) }()
	outputDone := make(chan struct{})
	go func() { copies.Wait(); close(outputDone) }()
	go func() { input <- a.copyInput(conn, ch) }()

	for {
		select {
		case <-outputDone:
			return nil
		case err := <-ended:
			switch {
			case err == nil:
				ended = nil // stdin ended; the output goes on
			case errors.Is(err, errDetached):
				return nil
			default:
				return err
			}
		case <-out.gone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// copyInput forwards the client's bytes as stdin, watching for the detach keys. The client's EOF is handled
// as Docker does: with StdinOnce and no tty it closes the process's stdin (CloseWrite) and the output keeps
// flowing; otherwise it ends the session and leaves stdin open (the docker CLI half-closes when the user
// types the detach keys on a tty, which it recognises itself). Without stdin the client's bytes are
// dropped, and only a failed read ends the session.
func (a *attachment) copyInput(conn io.Reader, ch ssh.Channel) error {
	keys := detachFilter{keys: a.opts.DetachKeys}
	buf := make([]byte, 32<<10)
	for {
		n, err := conn.Read(buf)
		if n > 0 && a.opts.Stdin {
			fwd, detach := keys.filter(buf[:n])
			if len(fwd) > 0 {
				if _, werr := ch.Write(fwd); werr != nil {
					return nil // the channel is closing; the output side ends the session
				}
			}
			if detach {
				return errDetached
			}
		}
		if errors.Is(err, io.EOF) {
			switch {
			case !a.opts.Stdin:
				return nil
			case a.stdinOnce && !a.tty:
				_ = ch.CloseWrite()
				return nil
			default:
				return errDetached
			}
		}
		if err != nil {
			return err
		}
	}
}
