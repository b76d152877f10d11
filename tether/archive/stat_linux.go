package archive

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the links one resolution follows, as the kernel's own limit does.
const maxSymlinks = 40

// Stat describes what is at path (made clean with CleanPath): the last element is not followed unless the
// path ends in "/" or "/.". A missing path is fs.ErrNotExist.
func (f *FS) Stat(p string) (*Stat, error) {
	clean := CleanPath(p)
	st, fd, _, err := f.lstat(clean)
	if err != nil {
		return nil, classify(err)
	}
	unix.Close(fd)
	out := &Stat{Name: BaseName(clean), Size: st.Size, Mode: st.Mode,
		ModTime: time.Unix(st.Mtim.Unix()).UTC()}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		if out.LinkTarget, err = f.Resolve(clean); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Resolve is the absolute path that p leads to in the tree with every symlink followed, as far as it resolves:
// a missing element and whatever follows it are taken as they are, so a dangling link resolves to where it
// points. ".." never leaves the root.
func (f *FS) Resolve(p string) (string, error) {
	todo := strings.Split(strings.TrimPrefix(path.Join("/", p), "/"), "/")
	var done []string // resolved elements: real directories, or a missing tail
	missing, links := false, 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		if missing {
			done = append(done, c)
			continue
		}
		target, err := f.readlink(done, c)
		switch {
		case errors.Is(err, unix.EINVAL): // not a symlink
			done = append(done, c)
		case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
			missing = true
			done = append(done, c)
		case err != nil:
			return "", &os.PathError{Op: "readlink", Path: "/" + path.Join(append(done, c)...), Err: err}
		default:
			if links++; links > maxSymlinks {
				return "", &os.PathError{Op: "resolve", Path: p, Err: unix.ELOOP}
			}
			if strings.HasPrefix(target, "/") {
				done = done[:0]
			}
			todo = append(strings.Split(target, "/"), todo...)
		}
	}
	return "/" + path.Join(done...), nil
}

// readlink reads the symlink name in the directory dir (resolved elements, no symlink among them), without
// following any symlink on the way.
func (f *FS) readlink(dir []string, name string) (string, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(f.root, relative("/"+path.Join(dir...)), &how)
	if errors.Is(err, unix.ELOOP) {
		return "", fmt.Errorf("a directory on the way changed into a symlink: %w", unix.EAGAIN)
	}
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
