package archive

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// FS is a container's filesystem tree, held by a descriptor of its root directory.
type FS struct {
	root int
	skip func(st *unix.Stat_t) bool
}

// Option configures an FS.
type Option func(*FS)

// SkipDirs keeps walks (archives of directories) from descending into the directories skip reports, which are
// still archived themselves, empty: the pseudo-filesystems mounted in a running guest, say.
func SkipDirs(skip func(st *unix.Stat_t) bool) Option { return func(f *FS) { f.skip = skip } }

// Open opens the tree rooted at dir.
func Open(dir string, opts ...Option) (*FS, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return NewFS(fd, opts...), nil
}

// NewFS makes an FS of the directory descriptor fd (an O_PATH one will do), which it then owns.
func NewFS(fd int, opts ...Option) *FS {
	f := &FS{root: fd}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Close releases the root's descriptor.
func (f *FS) Close() error { return unix.Close(f.root) }

// open opens abs (cleaned, absolute in the tree) with flags, resolving it inside the root; the last element
// is followed unless flags has O_NOFOLLOW.
func (f *FS) open(abs string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(f.root, relative(abs), &how)
		// EAGAIN: a rename raced the resolution; the kernel asks to try again.
		if (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)) && tries < 16 {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: abs, Err: err}
		}
		return fd, nil
	}
}

// openDir opens the directory abs, following its last element.
func (f *FS) openDir(abs string) (int, error) {
	return f.open(abs, unix.O_RDONLY|unix.O_DIRECTORY)
}

// lstat is what is at a cleaned path: its last element followed only when the path asks for it (followsLast).
// It returns the descriptor of the directory holding it and its name there ("" when the path was followed,
// and the descriptor is of the thing itself, opened O_PATH).
func (f *FS) lstat(clean string) (st unix.Stat_t, dirFD int, base string, err error) {
	if followsLast(clean) {
		fd, err := f.open(clean, unix.O_PATH)
		if err != nil {
			return st, -1, "", err
		}
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return st, -1, "", &os.PathError{Op: "stat", Path: clean, Err: err}
		}
		return st, fd, "", nil
	}
	dir, base := splitPath(clean)
	fd, err := f.open(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return st, -1, "", err
	}
	if err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		unix.Close(fd)
		return st, -1, "", &os.PathError{Op: "lstat", Path: clean, Err: err}
	}
	return st, fd, base, nil
}

// classify turns a failure to reach a path into this package's classes: a missing path is fs.ErrNotExist
// (as it is), a parent that is not a directory ErrInvalid.
func classify(err error) error {
	if errors.Is(err, unix.ENOTDIR) {
		return invalidf(err.Error())
	}
	return err
}
