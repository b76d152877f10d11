package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// capabilityXattr is the one extended attribute Docker's archives carry: a file's capabilities.
const capabilityXattr = "security.capability"

// Writer writes entries of a tree as a tar, in the form Docker's archives have: PAX headers, times to the
// second, numeric owners without names, hard links within the archive as link entries, sockets left out.
type Writer struct {
	tw   *tar.Writer
	seen map[fileID]string // files with several links: the name their first entry took
	buf  []byte
}

type fileID struct{ dev, ino uint64 }

// NewWriter returns a Writer on w; Close ends the archive.
func NewWriter(w io.Writer) *Writer {
	return &Writer{tw: tar.NewWriter(w), seen: map[fileID]string{}}
}

// Close writes the end of the archive.
func (w *Writer) Close() error { return w.tw.Close() }

// WriteHeader writes an entry that is no file of the tree (a whiteout, say); its contents, if any, follow
// through Write.
func (w *Writer) WriteHeader(h *tar.Header) error { return w.tw.WriteHeader(h) }

// Write writes the contents of the entry whose header was written last.
func (w *Writer) Write(p []byte) (int, error) { return w.tw.Write(p) }

// Header is the tar header of the entry base in the directory dirFD, whose lstat is st, named name. It is nil
// for what an archive leaves out (a socket).
func Header(dirFD int, base, name string, st *unix.Stat_t) (*tar.Header, error) {
	h := &tar.Header{
		Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, 0), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		h.Typeflag = tar.TypeDir
		if !strings.HasSuffix(h.Name, "/") {
			h.Name += "/"
		}
	case unix.S_IFREG:
		h.Typeflag, h.Size = tar.TypeReg, st.Size
	case unix.S_IFLNK:
		h.Typeflag = tar.TypeSymlink
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dirFD, base, buf)
		if err != nil {
			return nil, &os.PathError{Op: "readlink", Path: name, Err: err}
		}
		h.Linkname = string(buf[:n])
	case unix.S_IFCHR, unix.S_IFBLK:
		h.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	default: // a socket: tar cannot hold one, and Docker's archives leave them out
		return nil, nil
	}
	return h, nil
}

// Entry writes the entry base of the directory dirFD, whose lstat is st, named name (a directory's name gets
// its trailing "/"). With base "", dirFD is the directory itself.
func (w *Writer) Entry(dirFD int, base, name string, st *unix.Stat_t) error {
	h, err := Header(dirFD, base, name, st)
	if err != nil || h == nil {
		return err
	}
	if h.Typeflag != tar.TypeDir && st.Nlink > 1 {
		id := fileID{uint64(st.Dev), st.Ino}
		if first, ok := w.seen[id]; ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			return w.tw.WriteHeader(h)
		}
		w.seen[id] = h.Name
	}
	if h.Typeflag != tar.TypeReg {
		return w.tw.WriteHeader(h)
	}
	// O_NONBLOCK: should the file have become a fifo since the stat, the open must not wait for a writer.
	fd, err := unix.Openat(dirFD, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if capability, err := fgetxattr(fd, capabilityXattr); err == nil && len(capability) > 0 {
		h.PAXRecords = map[string]string{"SCHILY.xattr." + capabilityXattr: string(capability)}
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return err
	}
	return w.contents(f, h.Size)
}

// contents copies size bytes of f; a file that shrank since its stat is padded with zeros, one that grew is
// cut, so the archive stays whole while a running container writes.
func (w *Writer) contents(f *os.File, size int64) error {
	if w.buf == nil {
		w.buf = make([]byte, 256<<10)
	}
	n, err := io.CopyBuffer(w.tw, io.LimitReader(f, size), w.buf)
	if err != nil {
		return err
	}
	for n < size {
		clear(w.buf)
		m, err := w.tw.Write(w.buf[:min(size-n, int64(len(w.buf)))])
		n += int64(m)
		if err != nil {
			return err
		}
	}
	return nil
}

func fgetxattr(fd int, attr string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Fgetxattr(fd, attr, buf)
		if errors.Is(err, unix.ERANGE) && len(buf) < 64<<10 {
			buf = make([]byte, 4*len(buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// WalkFunc is called for each entry below a directory, parents first and in lexical order, with the
// descriptor of its directory, its name there, its lstat and its path below the walked directory. A
// directory whose call returns descend false is not walked into.
type WalkFunc func(dirFD int, base, rel string, st *unix.Stat_t) (descend bool, err error)

// Walk calls fn for everything below the directory dirFD, never following a symlink. Entries that vanish
// while it walks are passed over.
func Walk(ctx context.Context, dirFD int, fn WalkFunc) error {
	return walk(ctx, dirFD, "", fn)
}

func walk(ctx context.Context, dirFD int, rel string, fn WalkFunc) error {
	names, err := readNames(dirFD)
	if err != nil {
		return fmt.Errorf("read directory /%s: %w", rel, err)
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirFD, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return &os.PathError{Op: "lstat", Path: "/" + joinName(rel, n), Err: err}
		}
		child := joinName(rel, n)
		descend, err := fn(dirFD, n, child, &st)
		if err != nil {
			return err
		}
		if !descend || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		fd, err := unix.Openat(dirFD, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue // changed since the stat
		}
		if err != nil {
			return &os.PathError{Op: "open", Path: "/" + child, Err: err}
		}
		err = walk(ctx, fd, child, fn)
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// readNames lists a directory's entries, sorted.
func readNames(dirFD int) ([]string, error) {
	fd, err := unix.Openat(dirFD, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// joinName names an entry below prefix: "" has none, "/" (the root's archive) has it without doubling.
func joinName(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case strings.HasSuffix(prefix, "/"):
		return prefix + name
	}
	return prefix + "/" + name
}
