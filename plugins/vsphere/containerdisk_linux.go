package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/archive"
)

// archiveWorkDir is overlayfs's work directory for the endpoint's writes to a container's disk, beside its
// contents; it is emptied after each use and kept, as the emulator keeps its own.
const archiveWorkDir = "archive-work"

var _ containerDisks = (*localDiskData)(nil)

// openContainer opens a container disk whose contents are a directory on this machine (the simulator): its
// filesystem is an overlay of that directory over the chain's, mounted detached, as the emulator mounts it
// for the guest.
func (l *localDiskData) openContainer(_ context.Context, desc string, writable bool) (containerDisk, error) {
	local, err := l.local(desc)
	if err != nil {
		return nil, err
	}
	upper := DiskDataDir(local)
	if st, err := os.Stat(upper); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("container disk %s has no contents: %w", desc, errdefs.ErrNotFound)
	}
	chain, err := Chain(local)
	if err != nil {
		return nil, err
	}
	d := &localContainerDisk{upper: upper, image: -1}
	for _, c := range chain[1:] {
		// A layer without contents (an empty scratch) is skipped, as the emulator skips it.
		if st, err := os.Stat(DiskDataDir(c)); err == nil && st.IsDir() {
			d.lower = append(d.lower, DiskDataDir(c))
		}
	}
	if writable {
		d.work = filepath.Join(filepath.Dir(local), archiveWorkDir)
	}
	return d, nil
}

// localContainerDisk is a container disk on this machine: upper is its contents, lower the chain's.
type localContainerDisk struct {
	upper string
	lower []string
	work  string // set when writable
	fs    *archive.FS
	image int // the image's filesystem (the chain alone), mounted for Changes; -1 until then
}

func (d *localContainerDisk) FS(context.Context) (*archive.FS, error) {
	if d.fs != nil {
		return d.fs, nil
	}
	var fd int
	var err error
	if d.work != "" {
		if err := os.MkdirAll(d.work, 0o700); err != nil {
			return nil, fmt.Errorf("overlay work directory: %w", errdefs.Classed(err, errdefs.ErrSystem))
		}
		fd, err = mountOverlay(d.lower, d.upper, d.work)
	} else {
		fd, err = mountOverlay(append([]string{d.upper}, d.lower...), "", "")
	}
	if err != nil {
		return nil, err
	}
	d.fs = archive.NewFS(fd)
	return d.fs, nil
}

// imageRoot is the image's filesystem, the chain below the container's disk; -1 for an image of nothing.
func (d *localContainerDisk) imageRoot() (int, error) {
	if d.image >= 0 || len(d.lower) == 0 {
		return d.image, nil
	}
	fd, err := mountOverlay(d.lower, "", "")
	if err != nil {
		return -1, err
	}
	d.image = fd
	return fd, nil
}

func (d *localContainerDisk) Changes(ctx context.Context, guestFiles []string, booted bool) ([]*models.FileChange, error) {
	img, err := d.imageRoot()
	if err != nil {
		return nil, err
	}
	upper, err := openDirFD(d.upper)
	if err != nil {
		return nil, err
	}
	defer unix.Close(upper)
	return diskChanges(ctx, upper, img, guestFiles, booted)
}

func (d *localContainerDisk) WriteDiff(ctx context.Context, w io.Writer, guestFiles []string) error {
	upper, err := openDirFD(d.upper)
	if err != nil {
		return err
	}
	defer unix.Close(upper)
	return writeDiskDiff(ctx, w, upper, guestFiles)
}

func (d *localContainerDisk) Usage(ctx context.Context, guestFiles []string) (int64, error) {
	upper, err := openDirFD(d.upper)
	if err != nil {
		return 0, err
	}
	defer unix.Close(upper)
	return diskUsage(ctx, upper, guestFiles)
}

func (d *localContainerDisk) Close() error {
	var errs []error
	if d.fs != nil {
		errs = append(errs, d.fs.Close())
		d.fs = nil
	}
	if d.image >= 0 {
		errs = append(errs, unix.Close(d.image))
		d.image = -1
	}
	if d.work != "" {
		// Overlayfs leaves its work directory's own entries behind; the next mount wants it empty of ours.
		if entries, err := os.ReadDir(d.work); err == nil {
			for _, e := range entries {
				errs = append(errs, os.RemoveAll(filepath.Join(d.work, e.Name())))
			}
		}
	}
	return errors.Join(errs...)
}

func openDirFD(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, sysErr("open", dir, err)
	}
	return fd, nil
}
