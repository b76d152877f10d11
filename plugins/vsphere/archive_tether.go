package vsphere

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/tether/wire"
)

// maxTetherStderr bounds what the VCH keeps of a tether's account of a broken stream.
const maxTetherStderr = 64 << 10

// guestArchive is one archive operation on a running container's tether (wire.ChannelArchive).
type guestArchive struct {
	id     string
	ch     ssh.Channel
	r      *bufio.Reader
	done   chan struct{} // closed once the channel's requests end (the channel closed)
	status int           // the exit status the tether sent; -1 without one (valid once done is closed)
	stderr lockedBuffer
	once   sync.Once
}

// openGuestArchive opens the operation req on container id's tether.
func (b *Backend) openGuestArchive(ctx context.Context, id string, req wire.ArchiveRequest) (*guestArchive, error) {
	g, err := b.ctr.attach.guest(ctx, id, controlConnectWait)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the archive request: %w: %w", errdefs.ErrSystem, err)
	}
	ch, reqs, err := g.conn.OpenChannel(wire.ChannelArchive, payload)
	if err != nil {
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) && oce.Reason == ssh.UnknownChannelType {
			return nil, fmt.Errorf("the tether of container %s serves no archives (an older tether): %w", id, errdefs.ErrNotImplemented)
		}
		return nil, fmt.Errorf("open an archive channel to container %s: %w", id, errdefs.Classed(err, errdefs.ErrUnavailable))
	}
	ga := &guestArchive{id: id, ch: ch, r: bufio.NewReader(ch), done: make(chan struct{}), status: -1}
	go func() {
		defer close(ga.done)
		for r := range reqs {
			var msg struct{ Status uint32 }
			if r.Type == wire.RequestExitStatus && ssh.Unmarshal(r.Payload, &msg) == nil {
				ga.status = int(msg.Status)
			}
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	go func() { _, _ = io.Copy(&ga.stderr, ch.Stderr()) }()
	return ga, nil
}

// reply reads the tether's answer: the stat, or the error it reports, classed.
func (ga *guestArchive) reply(ctx context.Context) (*wire.ArchiveReply, error) {
	stop := context.AfterFunc(ctx, func() { ga.Close() })
	defer stop()
	line, err := ga.r.ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return nil, classify(ctx.Err(), "archive operation on container "+ga.id)
		}
		return nil, fmt.Errorf("the tether of container %s did not answer the archive request: %w", ga.id,
			errdefs.Classed(err, errdefs.ErrUnavailable))
	}
	var rep wire.ArchiveReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("the archive reply of container %s: %w: %w", ga.id, errdefs.ErrSystem, err)
	}
	if e := rep.Error; e != nil {
		return nil, archiveError(e.Kind, e.Message)
	}
	return &rep, nil
}

// archiveError classes an error the tether reported.
func archiveError(kind, msg string) error {
	switch kind {
	case wire.ArchiveNotFound:
		return fmt.Errorf("%s: %w", msg, errdefs.ErrNotFound)
	case wire.ArchiveInvalid:
		return fmt.Errorf("%s: %w", msg, errdefs.ErrInvalid)
	}
	return fmt.Errorf("%s: %w", msg, errdefs.ErrSystem)
}

// Read reads the tar that follows a successful reply. Its end is an error when the tether reports that the
// tar broke off.
func (ga *guestArchive) Read(p []byte) (int, error) {
	n, err := ga.r.Read(p)
	if err == io.EOF {
		<-ga.done
		if ga.status != 0 {
			msg := strings.TrimSpace(ga.stderr.String())
			if msg == "" {
				msg = "the tether ended the stream without saying it was whole"
			}
			return n, fmt.Errorf("archive of container %s broke off: %s: %w", ga.id, msg, errdefs.ErrSystem)
		}
	}
	return n, err
}

// Close ends the operation.
func (ga *guestArchive) Close() error {
	ga.once.Do(func() { ga.ch.Close() })
	return nil
}

// write sends the tar read from r and waits for the tether's reply, which may come before the tar's end when
// the extraction fails.
func (ga *guestArchive) write(ctx context.Context, r io.Reader) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(ga.ch, r)
		if err == nil {
			err = ga.ch.CloseWrite()
		}
		sent <- err
	}()
	_, err := ga.reply(ctx)
	ga.Close() // a sender still busy stops at its next write
	<-sent
	return err
}

// lockedBuffer keeps the first maxTetherStderr bytes written to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := maxTetherStderr - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
