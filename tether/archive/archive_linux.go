package archive

import (
	"context"
	"io"

	"golang.org/x/sys/unix"
)

// Archive writes a tar of what is at path to w, as Docker's GET /containers/{id}/archive does: a directory
// with everything below it, anything else as one entry, named after the path's last element as given
// (BaseName). The path is resolved as Stat resolves it; a missing one is fs.ErrNotExist, reported before
// anything is written.
func (f *FS) Archive(ctx context.Context, w io.Writer, p string) error {
	return f.ArchiveAs(ctx, w, p, "")
}

// ArchiveAs is Archive with the top entry named name ("": the path's last element), for a path that is not
// where the tree is seen from: the root of a volume's tree seen at its mount point.
func (f *FS) ArchiveAs(ctx context.Context, w io.Writer, p, name string) error {
	clean := CleanPath(p)
	st, fd, base, err := f.lstat(clean)
	if err != nil {
		return classify(err)
	}
	defer unix.Close(fd)
	if name == "" {
		name = BaseName(clean)
	}
	tw := NewWriter(w)
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := tw.Entry(fd, base, name, &st); err != nil {
			return err
		}
		return tw.Close()
	}
	dirFD := fd
	if base != "" {
		if dirFD, err = unix.Openat(fd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
			return classify(err)
		}
		defer unix.Close(dirFD)
	} else if dirFD, err = unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return classify(err)
	} else {
		defer unix.Close(dirFD)
	}
	if err := tw.Entry(dirFD, "", name, &st); err != nil {
		return err
	}
	if f.skip == nil || !f.skip(&st) {
		if err := f.tree(ctx, tw, dirFD, name); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Export writes the whole tree to w as Docker's GET /containers/{id}/export does: every entry below the root,
// named relative to it, the root itself left out.
func (f *FS) Export(ctx context.Context, w io.Writer) error {
	fd, err := f.openDir("/")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	tw := NewWriter(w)
	if err := f.tree(ctx, tw, fd, ""); err != nil {
		return err
	}
	return tw.Close()
}

// tree archives everything below the directory dirFD, named below prefix.
func (f *FS) tree(ctx context.Context, tw *Writer, dirFD int, prefix string) error {
	return Walk(ctx, dirFD, func(dir int, base, rel string, st *unix.Stat_t) (bool, error) {
		if err := tw.Entry(dir, base, joinName(prefix, rel), st); err != nil {
			return false, err
		}
		return f.skip == nil || !f.skip(st), nil
	})
}
