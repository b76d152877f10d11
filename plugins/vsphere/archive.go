package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/archive"
	"github.com/vice-engine/vice/tether/wire"
)

// The archive group (sdk.Archive): a running container's filesystem is read and written by its tether, from
// inside the guest (archive_tether.go), so what the VCH gets is what the process sees, volumes included; a
// created or stopped one's is read and written on its disk by the endpoint (containerdisk.go), without
// starting it. The changes and the diff are the disk's, running or not.

var _ sdk.Archive = (*Backend)(nil)

// StatPath describes what is at p in the container's filesystem.
func (b *Backend) StatPath(ctx context.Context, id, p string) (*models.PathStat, error) {
	var out *models.PathStat
	err := b.onFilesystem(ctx, id, false,
		func() error {
			ga, err := b.openGuestArchive(ctx, id, wire.ArchiveRequest{Op: wire.ArchiveStat, Path: p})
			if err != nil {
				return err
			}
			defer ga.Close()
			rep, err := ga.reply(ctx)
			if err != nil {
				return err
			}
			if rep.Stat == nil {
				return fmt.Errorf("the tether of container %s answered a stat without one: %w", id, errdefs.ErrSystem)
			}
			s := rep.Stat
			out = pathStat(&archive.Stat{Name: s.Name, Size: s.Size, Mode: s.Mode, ModTime: s.ModTime, LinkTarget: s.LinkTarget})
			return nil
		},
		func(o *openedDisk) error {
			tree, rel, name, err := o.at(ctx, b, p, false)
			if err != nil {
				return err
			}
			st, err := tree.Stat(rel)
			if err != nil {
				return fsError(err)
			}
			st.Name = name
			out = pathStat(st)
			return nil
		})
	if err != nil {
		return nil, err // the tree's own wording, which Docker shows
	}
	return out, nil
}

// ReadArchive streams a tar of what is at p.
func (b *Backend) ReadArchive(ctx context.Context, id, p string) (io.ReadCloser, error) {
	rc, err := b.streamFilesystem(ctx, id, wire.ArchiveRequest{Op: wire.ArchiveRead, Path: p},
		func(o *openedDisk, w io.Writer) error {
			tree, rel, name, err := o.at(ctx, b, p, false)
			if err != nil {
				return err
			}
			return tree.ArchiveAs(ctx, w, rel, name)
		})
	if err != nil {
		return nil, err
	}
	b.publishArchive(ctx, id, "archive-path")
	return rc, nil
}

// ExportContainer streams the container's root filesystem.
func (b *Backend) ExportContainer(ctx context.Context, id string) (io.ReadCloser, error) {
	rc, err := b.streamFilesystem(ctx, id, wire.ArchiveRequest{Op: wire.ArchiveExport},
		func(o *openedDisk, w io.Writer) error { return o.tree.Export(ctx, w) }) // the disk alone, as dockerd exports
	if err != nil {
		return nil, fmt.Errorf("export container %s: %w", id, err)
	}
	b.publishArchive(ctx, id, "export")
	return rc, nil
}

// WriteArchive extracts the tar read from r into the directory p.
func (b *Backend) WriteArchive(ctx context.Context, id, p string, opts sdk.WriteArchiveOptions, r io.Reader) error {
	err := b.onFilesystem(ctx, id, true,
		func() error {
			ga, err := b.openGuestArchive(ctx, id, wire.ArchiveRequest{Op: wire.ArchiveWrite, Path: p,
				NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir, CopyUIDGID: opts.CopyUIDGID})
			if err != nil {
				return err
			}
			defer ga.Close()
			return ga.write(ctx, r)
		},
		func(o *openedDisk) error {
			tree, rel, _, err := o.at(ctx, b, p, true)
			if err != nil {
				return err
			}
			if _, err := tree.ExtractPoint(rel); err != nil {
				return fsError(err)
			}
			xo := archive.ExtractOptions{NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir}
			if opts.CopyUIDGID {
				owner, err := o.tree.LookupOwner(guestConfigOf(o.c).User)
				if err != nil {
					return fsError(err)
				}
				xo.Owner = owner
			}
			return fsError(tree.Extract(ctx, r, rel, xo))
		})
	if err != nil {
		return err
	}
	b.publishArchive(ctx, id, "extract-to-dir")
	return nil
}

// ContainerChanges lists the container disk's changes against its image.
func (b *Backend) ContainerChanges(ctx context.Context, id string) ([]*models.FileChange, error) {
	c, d, err := b.openContainerDisk(ctx, id, false)
	if err != nil {
		return nil, fmt.Errorf("changes of container %s: %w", id, err)
	}
	defer d.Close()
	changes, err := d.Changes(ctx, guestConfigOf(c).GuestFiles(), c.boot() > 0)
	if err != nil {
		return nil, fmt.Errorf("changes of container %s: %w", id, fsError(err))
	}
	return changes, nil
}

// ReadContainerDiff streams the container disk's changes as a layer diff.
func (b *Backend) ReadContainerDiff(ctx context.Context, id string) (io.ReadCloser, error) {
	c, d, err := b.openContainerDisk(ctx, id, false)
	if err != nil {
		return nil, fmt.Errorf("diff of container %s: %w", id, err)
	}
	guestFiles := guestConfigOf(c).GuestFiles()
	rc, err := startStream(func(w io.Writer) error { return fsError(d.WriteDiff(ctx, w, guestFiles)) }, func() { d.Close() })
	if err != nil {
		return nil, fmt.Errorf("diff of container %s: %w", id, err)
	}
	return rc, nil
}

// onFilesystem runs an operation on container id's filesystem: guest when it runs, through its tether;
// disk otherwise, on its disk (writable when asked), holding the container's lock so that it does not start
// meanwhile. A container whose tether is gone because its process just ended counts as stopped; a paused
// one's frozen guest answers nothing, so its disk is read (and not written: its guest has it mounted). The
// disk is closed and the lock released when disk returns, unless it keeps them (openedDisk.keep).
func (b *Backend) onFilesystem(ctx context.Context, id string, writable bool, guest func() error,
	disk func(o *openedDisk) error) error {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case c.paused() && writable:
		return fmt.Errorf("container %s is paused, unpause the container before writing to it: %w", id, errdefs.ErrConflict)
	case c.paused():
		return b.withDisk(ctx, c, false, func() {}, disk)
	case c.state().Running:
		err := guest()
		if !errdefs.Is(err, errdefs.ErrUnavailable) {
			return err
		}
		if c, _ = b.containerVM(ctx, id); c == nil || c.state().Running {
			return err
		}
	}
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return err
	}
	if c, err = b.containerVM(ctx, id); err == nil && c.state().Running {
		err = fmt.Errorf("container %s started meanwhile: %w", id, errdefs.ErrConflict)
	}
	if err == nil {
		// A guest whose process ended powers its VM off by itself; its disk is the guest's until then.
		c, err = b.settle(ctx, c)
	}
	if err != nil {
		unlock()
		return err
	}
	return b.withDisk(ctx, c, writable, unlock, disk)
}

// withDisk opens c's disk for disk; release runs once the disk is closed again.
func (b *Backend) withDisk(ctx context.Context, c *containerVM, writable bool, release func(),
	disk func(o *openedDisk) error) error {
	o := &openedDisk{c: c, release: release}
	defer func() {
		if !o.kept {
			o.release()
		}
	}()
	_, d, err := b.openDisk(ctx, c, writable)
	if err != nil {
		return err
	}
	o.release = func() { d.Close(); release() }
	if o.tree, err = d.FS(ctx); err != nil {
		return err
	}
	return disk(o)
}

// openedDisk is a stopped container's disk, open for one operation.
type openedDisk struct {
	c       *containerVM
	tree    *archive.FS
	release func() // closes the disk and releases the container's lock
	kept    bool
}

// keep hands the disk and the lock over to the caller, who calls the function returned when done (which
// closes what was opened with the disk meanwhile too, see at).
func (o *openedDisk) keep() func() {
	o.kept = true
	return func() { o.release() }
}

// streamFilesystem starts a tar stream of container id's filesystem, from its tether (req) when it runs, else
// written by produce from its disk. An error before the first byte (a missing path) is returned as such.
func (b *Backend) streamFilesystem(ctx context.Context, id string, req wire.ArchiveRequest,
	produce func(o *openedDisk, w io.Writer) error) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := b.onFilesystem(ctx, id, false,
		func() error {
			ga, err := b.openGuestArchive(ctx, id, req)
			if err != nil {
				return err
			}
			if _, err := ga.reply(ctx); err != nil {
				ga.Close()
				return err
			}
			rc = ga
			return nil
		},
		func(o *openedDisk) error {
			var err error
			rc, err = startStream(func(w io.Writer) error { return fsError(produce(o, w)) }, o.keep())
			return err
		})
	return rc, err
}

// openContainerDisk finds container id and opens its disk.
func (b *Backend) openContainerDisk(ctx context.Context, id string, writable bool) (*containerVM, containerDisk, error) {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return b.openDisk(ctx, c, writable)
}

// openDisk opens c's disk where the endpoint can read it.
func (b *Backend) openDisk(ctx context.Context, c *containerVM, writable bool) (*containerVM, containerDisk, error) {
	data, err := b.prepareLayers(ctx)
	if err != nil {
		return nil, nil, err
	}
	disks, ok := data.(containerDisks)
	if !ok {
		return nil, nil, fmt.Errorf("the disk data %T reads no container disks: %w", data, errdefs.ErrSystem)
	}
	d, err := disks.openContainer(ctx, b.where.datastore.Path(path.Join(c.folder(), c.id()+".vmdk")), writable)
	if err != nil {
		return nil, nil, err
	}
	return c, d, nil
}

// guestConfigOf is the tether's configuration of c, as CreateContainer wrote it.
func guestConfigOf(c *containerVM) *wire.ContainerConfig {
	var cfg wire.ContainerConfig
	_ = json.Unmarshal([]byte(c.extra[wire.KeyConfig]), &cfg) // a zero one describes nothing
	return &cfg
}

// publishArchive sends the container event of an archive operation.
func (b *Backend) publishArchive(ctx context.Context, id, action string) {
	if c, err := b.containerVM(ctx, id); err == nil {
		b.publishContainer(c, action, nil)
	}
}

// pathStat is the port layer's PathStat.
func pathStat(st *archive.Stat) *models.PathStat {
	return &models.PathStat{Name: st.Name, Size: st.Size, Mode: int64(st.Mode),
		Mtime: st.ModTime.UTC().Format(time.RFC3339Nano), LinkTarget: st.LinkTarget}
}

// fsError classes the tree's errors: a missing path is not found, a wrong request invalid.
func fsError(err error) error {
	switch {
	case err == nil:
		return nil
	case errdefs.Sentinel(err) != errdefs.ErrSystem || errdefs.Is(err, errdefs.ErrSystem):
		return err // classed already (a cancelled context, say)
	case errors.Is(err, fs.ErrNotExist):
		return errdefs.Classed(err, errdefs.ErrNotFound)
	case errors.Is(err, archive.ErrInvalid):
		return errdefs.Classed(err, errdefs.ErrInvalid)
	}
	return errdefs.Classed(err, errdefs.ErrSystem)
}

// startStream runs produce into a pipe and returns its reading end once produce wrote its first byte, or
// produce's error when it failed before; done runs when produce returns.
func startStream(produce func(w io.Writer) error, done func()) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	started := make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		err := produce(&firstWrite{w: pw, started: started})
		pw.CloseWithError(err)
		done()
		finished <- err
	}()
	select {
	case <-started:
		return pr, nil
	case err := <-finished:
		if err != nil {
			return nil, err
		}
		return pr, nil
	}
}

// firstWrite closes started at its first write.
type firstWrite struct {
	w       io.Writer
	started chan struct{}
	once    sync.Once
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { close(f.started) })
	return f.w.Write(p)
}
