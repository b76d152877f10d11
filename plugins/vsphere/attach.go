package vsphere

import (
	"context"
	"fmt"
	"strconv"
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
	_ sdk.Containers  = (*Backend)(nil)
	_ sdk.Interaction = (*Backend)(nil)
)

// AttachContainer opens an attach channel to the container's tether, once the container runs and its tether
// is connected.
func (b *Backend) AttachContainer(ctx context.Context, id string, opts sdk.AttachOptions) (sdk.Stream, error) {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.state().Running {
		return nil, fmt.Errorf("container %s is not running: you cannot attach to a stopped container, start it first: %w",
			id, errdefs.ErrConflict)
	}
	if c.paused() {
		return nil, fmt.Errorf("container %s is paused: you cannot attach to a paused container, unpause it first: %w",
			id, errdefs.ErrConflict)
	}
	g, err := b.ctr.attach.guest(ctx, id, attachConnectWait)
	if err != nil {
		return nil, err
	}
	ch, reqs, err := g.conn.OpenChannel(wire.ChannelAttach, nil)
	if err != nil {
		return nil, fmt.Errorf("open an attach channel to container %s: %w", id, errdefs.Classed(err, errdefs.ErrUnavailable))
	}
	b.publishContainer(c, "attach", nil)
	return newAttachStream(ch, reqs, opts), nil
}

// ResizeContainer sends the new tty size to the tether.
func (b *Backend) ResizeContainer(ctx context.Context, id string, height, width int64) error {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return err
	}
	if err := runningForTasks(c); err != nil {
		return err
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
