package tether

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/archive"
	"github.com/vice-engine/vice/tether/wire"
)

// pseudoMounts are the filesystems the tether mounts in the container (containerMounts): an archive of a
// directory does not descend into them, as Docker's view of a container's filesystem has none of them.
var pseudoMounts = []string{"/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"}

// archiveServer serves wire.ChannelArchive: the container's filesystem as its processes see it.
type archiveServer struct {
	log  *slog.Logger
	user string // the container's user, whose uid and gid a write with CopyUIDGID gives the entries
}

// open serves one ChannelArchive to its end.
func (a *archiveServer) open(ctx context.Context, nc ssh.NewChannel) {
	var req wire.ArchiveRequest
	if err := json.Unmarshal(nc.ExtraData(), &req); err != nil {
		_ = nc.Reject(ssh.Prohibited, "archive request: "+err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	defer ch.Close()
	log := a.log.With("op", req.Op, "path", req.Path)
	f, err := a.view(req.Op)
	if err != nil {
		log.Warn("archive", "err", err)
		sendArchiveReply(ch, nil, err)
		return
	}
	defer f.Close()
	switch req.Op {
	case wire.ArchiveStat:
		st, err := f.Stat(req.Path)
		sendArchiveReply(ch, st, err)
	case wire.ArchiveRead, wire.ArchiveExport:
		w := &replyFirst{ch: ch}
		if req.Op == wire.ArchiveRead {
			err = f.Archive(ctx, w, req.Path)
		} else {
			err = f.Export(ctx, w)
		}
		a.finishStream(log, ch, w, err)
	case wire.ArchiveWrite:
		err := a.write(ctx, f, ch, req)
		if err != nil {
			log.Info("archive write failed", "err", err)
		}
		sendArchiveReply(ch, nil, err)
	default:
		sendArchiveReply(ch, nil, fmt.Errorf("unknown archive operation %q: %w", req.Op, archive.ErrInvalid))
	}
}

// view is the filesystem an operation works on: the container's root with its volumes, or for an export the
// root filesystem alone (a clone of the root mount without what is mounted on it).
func (a *archiveServer) view(op string) (*archive.FS, error) {
	if op == wire.ArchiveExport {
		fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("clone the root mount: %w", err)
		}
		return archive.NewFS(fd), nil
	}
	var root unix.Stat_t
	if err := unix.Stat("/", &root); err != nil {
		return nil, err
	}
	skip := map[uint64]bool{}
	for _, m := range pseudoMounts {
		var st unix.Stat_t
		if unix.Stat(m, &st) == nil && st.Dev != root.Dev {
			skip[st.Dev] = true
		}
	}
	return archive.Open("/", archive.SkipDirs(func(st *unix.Stat_t) bool { return skip[st.Dev] }))
}

// write extracts the tar the VCH sends, then drains what follows it.
func (a *archiveServer) write(ctx context.Context, f *archive.FS, ch ssh.Channel, req wire.ArchiveRequest) error {
	if _, err := f.ExtractPoint(req.Path); err != nil {
		return err
	}
	opts := archive.ExtractOptions{NoOverwriteDirNonDir: req.NoOverwriteDirNonDir}
	if req.CopyUIDGID {
		o, err := f.LookupOwner(a.user)
		if err != nil {
			return err
		}
		opts.Owner = o
	}
	if err := f.Extract(ctx, ch, req.Path, opts); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, ch)
	return err
}

// finishStream ends a tar stream: an error before any of it was sent is the reply; one after is reported
// with the exit status.
func (a *archiveServer) finishStream(log *slog.Logger, ch ssh.Channel, w *replyFirst, err error) {
	if !w.sent {
		if err != nil {
			log.Info("archive", "err", err)
		}
		sendArchiveReply(ch, nil, err)
		if err != nil {
			return
		}
	}
	code := uint32(0)
	if err != nil {
		log.Warn("archive broke off", "err", err)
		_, _ = fmt.Fprintln(ch.Stderr(), err)
		code = 1
	}
	_, _ = ch.SendRequest(wire.RequestExitStatus, false, ssh.Marshal(struct{ Status uint32 }{code}))
}

// replyFirst sends the success reply before the first bytes of a stream.
type replyFirst struct {
	ch   ssh.Channel
	sent bool
}

func (r *replyFirst) Write(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		if err := sendArchiveReply(r.ch, nil, nil); err != nil {
			return 0, err
		}
	}
	return r.ch.Write(p)
}

// sendArchiveReply writes the reply line: the stat, or the error classed for the VCH.
func sendArchiveReply(w io.Writer, st *archive.Stat, err error) error {
	var reply wire.ArchiveReply
	switch {
	case err != nil:
		kind := wire.ArchiveFailed
		if errors.Is(err, fs.ErrNotExist) {
			kind = wire.ArchiveNotFound
		} else if errors.Is(err, archive.ErrInvalid) {
			kind = wire.ArchiveInvalid
		}
		reply.Error = &wire.ArchiveError{Kind: kind, Message: err.Error()}
	case st != nil:
		reply.Stat = &wire.PathStat{Name: st.Name, Size: st.Size, Mode: st.Mode, ModTime: st.ModTime,
			LinkTarget: st.LinkTarget}
	}
	b, _ := json.Marshal(reply)
	_, werr := w.Write(append(b, '\n'))
	return werr
}
