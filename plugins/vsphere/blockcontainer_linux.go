package vsphere

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/archive"
	"github.com/vice-engine/vice/tether/wire"
)

// A container's disk on a real disk (vmDiskData) is a delta disk of its image's top layer: the endpoint
// attaches it to itself and mounts its filesystem, which is the container's root. Its changes against the
// image are found by comparing that filesystem with the top layer's (attached read-only): the disk keeps
// blocks, not files, so there is no upper directory to read them from. An entry is unchanged when its type,
// owner, mode, size, times and (for a symlink) target are the image's; a file rewritten in place with the
// same size and its old times is not seen, as with any comparison of metadata.

var _ containerDisks = (*vmDiskData)(nil)

func (v *vmDiskData) openContainer(_ context.Context, desc string, writable bool) (containerDisk, error) {
	return &blockContainerDisk{v: v, desc: desc, writable: writable}, nil
}

// blockContainerDisk is a container disk opened through the endpoint VM; its disks are attached on first use.
type blockContainerDisk struct {
	v        *vmDiskData
	desc     string
	writable bool

	disk, image *attachedMount
	fs          *archive.FS
}

// attachedMount is a disk attached to the endpoint and mounted.
type attachedMount struct {
	d  *attachedDisk
	fs *mountedFS
}

func (v *vmDiskData) attachAndMount(ctx context.Context, file string, writable bool) (*attachedMount, error) {
	d, err := v.b.attachDisk(ctx, diskAttach{file: file, readOnly: !writable})
	if err != nil {
		return nil, err
	}
	fs, err := mountDisk(d.device, !writable)
	if err != nil {
		return nil, errors.Join(err, v.b.detachDisk(context.WithoutCancel(ctx), d))
	}
	return &attachedMount{d: d, fs: fs}, nil
}

func (m *attachedMount) close(ctx context.Context, b *Backend) error {
	return errors.Join(m.fs.close(), b.detachDisk(context.WithoutCancel(ctx), m.d))
}

func (d *blockContainerDisk) mounted(ctx context.Context) (*attachedMount, error) {
	if d.disk == nil {
		m, err := d.v.attachAndMount(ctx, d.desc, d.writable)
		if err != nil {
			return nil, err
		}
		d.disk = m
	}
	return d.disk, nil
}

// imageRoot is the image's filesystem: the container disk's parent, the top layer's disk.
func (d *blockContainerDisk) imageRoot(ctx context.Context) (int, error) {
	if d.image != nil {
		return d.image.fs.fd(), nil
	}
	parent, err := d.v.parentOf(ctx, d.desc)
	if err != nil {
		return -1, err
	}
	m, err := d.v.attachAndMount(ctx, parent, false)
	if err != nil {
		return -1, err
	}
	d.image = m
	return m.fs.fd(), nil
}

func (d *blockContainerDisk) FS(ctx context.Context) (*archive.FS, error) {
	if d.fs != nil {
		return d.fs, nil
	}
	m, err := d.mounted(ctx)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Dup(m.fs.fd()) // the FS closes its own
	if err != nil {
		return nil, fmt.Errorf("container disk: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	d.fs = archive.NewFS(fd)
	return d.fs, nil
}

func (d *blockContainerDisk) Changes(ctx context.Context, guestFiles []string, booted bool) ([]*models.FileChange, error) {
	root, img, err := d.both(ctx)
	if err != nil {
		return nil, err
	}
	var out []*models.FileChange
	changedDirs := map[string]bool{}
	record := func(p, kind string) {
		if kind != changeModified {
			if parent := path.Dir(p); parent != "/" && !changedDirs[parent] {
				out = append(out, &models.FileChange{Path: parent, Kind: changeModified})
				changedDirs[parent] = true
			}
		}
		out = append(out, &models.FileChange{Path: p, Kind: kind})
	}
	err = compareTrees(ctx, root, img, guestFiles, func(p string, kind string, isDir bool, _ int, _ string, _ *unix.Stat_t) error {
		if isDir && kind != changeDeleted {
			changedDirs[p] = true
		}
		record(p, kind)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if booted {
		for _, f := range guestFiles {
			if _, inImage := imageStat(img, f); !inImage && !exists(root, f) &&
				!slices.ContainsFunc(out, func(c *models.FileChange) bool { return c.Path == f }) {
				record(f, changeDeleted)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *models.FileChange) int { return comparePaths(a.Path, b.Path) })
	return out, nil
}

func (d *blockContainerDisk) WriteDiff(ctx context.Context, w io.Writer, guestFiles []string) error {
	root, img, err := d.both(ctx)
	if err != nil {
		return err
	}
	tw := archive.NewWriter(w)
	err = compareTrees(ctx, root, img, guestFiles, func(p, kind string, _ bool, dirFD int, base string, st *unix.Stat_t) error {
		rel := strings.TrimPrefix(p, "/")
		if kind == changeDeleted {
			dir, name := path.Split(rel)
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + name, Mode: 0o600,
				ModTime: unixTime(st.Mtim), Format: tar.FormatPAX})
		}
		return tw.Entry(dirFD, base, rel, st)
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("end the diff: %w", err)
	}
	return nil
}

func (d *blockContainerDisk) Usage(ctx context.Context, guestFiles []string) (int64, error) {
	root, img, err := d.both(ctx)
	if err != nil {
		return 0, err
	}
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err = compareTrees(ctx, root, img, guestFiles, func(_, kind string, isDir bool, _ int, _ string, st *unix.Stat_t) error {
		if kind == changeDeleted || isDir || st.Size <= 0 {
			return nil
		}
		if k := (inode{uint64(st.Dev), st.Ino}); !seen[k] {
			seen[k] = true
			total += st.Size
		}
		return nil
	})
	return total, err
}

// both are the container's and the image's filesystems.
func (d *blockContainerDisk) both(ctx context.Context) (int, int, error) {
	m, err := d.mounted(ctx)
	if err != nil {
		return -1, -1, err
	}
	img, err := d.imageRoot(ctx)
	if err != nil {
		return -1, -1, err
	}
	return m.fs.fd(), img, nil
}

func (d *blockContainerDisk) Close() error {
	ctx := context.Background()
	var errs []error
	if d.fs != nil {
		errs = append(errs, d.fs.Close())
		d.fs = nil
	}
	for _, m := range []**attachedMount{&d.disk, &d.image} {
		if *m != nil {
			errs = append(errs, (*m).close(ctx, d.v.b))
			*m = nil
		}
	}
	return errors.Join(errs...)
}

// changeFunc receives one difference: p, its kind, and (not for a deletion) the entry in the container's tree.
// A deletion's st is the image's entry.
type changeFunc func(p, kind string, isDir bool, dirFD int, base string, st *unix.Stat_t) error

// compareTrees walks the container's tree root against the image's img and reports what differs, in walk
// order: additions and modifications, and each directory's deletions once its own entry is reported or
// found unchanged. guestFiles and the directories the guest makes for its mounts are no change.
func compareTrees(ctx context.Context, root, img int, guestFiles []string, fn changeFunc) error {
	deletions := func(dirFD int, p string) error {
		names, err := imageNames(img, p)
		if err != nil {
			return nil
		}
		for _, n := range names {
			q := path.Join(p, n)
			if slices.Contains(guestFiles, q) {
				continue
			}
			var st unix.Stat_t
			if unix.Fstatat(dirFD, n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				continue
			}
			ist, _ := imageStat(img, q)
			if ist == nil {
				continue
			}
			if err := fn(q, changeDeleted, ist.Mode&unix.S_IFMT == unix.S_IFDIR, -1, "", ist); err != nil {
				return err
			}
		}
		return nil
	}
	if err := deletions(root, "/"); err != nil {
		return err
	}
	return archive.Walk(ctx, root, func(dirFD int, base, rel string, st *unix.Stat_t) (bool, error) {
		p := "/" + rel
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if slices.Contains(guestFiles, p) && !isDir {
			return false, nil
		}
		ist, inImage := imageStat(img, p)
		switch {
		case !inImage && isDir && wire.IsGuestDir(p):
			return true, nil
		case !inImage:
			return isDir, fn(p, changeAdded, isDir, dirFD, base, st)
		case st.Mode&unix.S_IFMT != ist.Mode&unix.S_IFMT:
			return isDir, fn(p, changeModified, isDir, dirFD, base, st)
		}
		same := sameDir(st, ist) && (isDir || (st.Size == ist.Size && sameLink(dirFD, base, img, p, st)))
		if !same {
			if err := fn(p, changeModified, isDir, dirFD, base, st); err != nil {
				return false, err
			}
		}
		if !isDir {
			return false, nil
		}
		sub, err := unix.Openat(dirFD, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return false, err
		}
		defer unix.Close(sub)
		return true, deletions(sub, p)
	})
}

// sameLink tells that a symlink's target is the image's (true for anything else).
func sameLink(dirFD int, base string, img int, p string, st *unix.Stat_t) bool {
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return true
	}
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dirFD, base, buf)
	if err != nil {
		return false
	}
	dir, name := path.Split(p)
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(img, "."+dir, &how)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	buf2 := make([]byte, 4096)
	m, err := unix.Readlinkat(fd, name, buf2)
	return err == nil && string(buf[:n]) == string(buf2[:m])
}

// imageNames lists the directory p of the image's tree.
func imageNames(img int, p string) ([]string, error) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(img, "."+p, &how)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	return f.Readdirnames(-1)
}
