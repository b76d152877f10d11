package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ExtractOptions say how Extract writes.
type ExtractOptions struct {
	// NoOverwriteDirNonDir refuses to replace a directory with a non-directory, or the reverse.
	NoOverwriteDirNonDir bool
	// Owner, when set, owns every entry instead of the tar's owners (docker cp -a).
	Owner *Owner
}

// Owner is a numeric user and group.
type Owner struct{ UID, GID int }

// ExtractPoint resolves path fully, its last element too, and checks that it is a directory: a missing path
// is fs.ErrNotExist, anything else ErrInvalid. It returns the resolved path.
func (f *FS) ExtractPoint(p string) (string, error) {
	clean := CleanPath(p)
	fd, err := f.open(clean, unix.O_PATH)
	if err != nil {
		return "", classify(err)
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	unix.Close(fd)
	if err != nil {
		return "", &os.PathError{Op: "stat", Path: clean, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return "", invalidf("extraction point is not a directory")
	}
	return f.Resolve(clean)
}

// Extract writes the tar read from r into the directory at path, as Docker's PUT /containers/{id}/archive
// does: entry names are relative to it, their directories resolved in the tree (made when missing); an entry
// replaces what is there, except that a directory merges into a directory; owners, modes, times and extended
// attributes come from the tar. An entry that would leave the directory, or break opts, is ErrInvalid.
func (f *FS) Extract(ctx context.Context, r io.Reader, p string, opts ExtractOptions) error {
	dest, err := f.ExtractPoint(p)
	if err != nil {
		return err
	}
	x := &extractor{f: f, dest: dest, opts: opts}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read the tar: %v: %w", err, ErrInvalid)
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	// Directory times last: what was made inside them changed them.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.setTimes(x.dirs[i].path, x.dirs[i].hdr); err != nil {
			return err
		}
	}
	return nil
}

type extractor struct {
	f    *FS
	dest string
	opts ExtractOptions
	dirs []madeDir
	buf  []byte
}

type madeDir struct {
	path string
	hdr  *tar.Header
}

// within reports whether p (clean) is dest or below it.
func within(dest, p string) bool {
	return p == dest || strings.HasPrefix(p, strings.TrimSuffix(dest, "/")+"/")
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	target := path.Join(x.dest, hdr.Name)
	if !within(x.dest, target) {
		return invalidf(fmt.Sprintf("%q is outside of %q", hdr.Name, x.dest))
	}
	if target == x.dest {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the extraction point itself
		}
		return invalidf(fmt.Sprintf("cannot overwrite directory %q with non-directory %q", target, x.dest))
	}
	dir, base := path.Split(target)
	pfd, err := x.parent(dir)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)

	var st unix.Stat_t
	exists := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if exists {
		switch {
		case x.opts.NoOverwriteDirNonDir && isDir && hdr.Typeflag != tar.TypeDir:
			return invalidf(fmt.Sprintf("cannot overwrite directory %q with non-directory %q", target, x.dest))
		case x.opts.NoOverwriteDirNonDir && !isDir && hdr.Typeflag == tar.TypeDir:
			return invalidf(fmt.Sprintf("cannot overwrite non-directory %q with directory %q", target, x.dest))
		case !isDir || hdr.Typeflag != tar.TypeDir:
			if err := removeAllAt(pfd, base); err != nil {
				return &os.PathError{Op: "remove", Path: target, Err: err}
			}
			isDir = false
		}
	}
	if err := x.create(pfd, base, target, hdr, r, isDir); err != nil {
		return err
	}
	return x.metadata(pfd, base, target, hdr)
}

// parent opens the directory dir (absolute in the tree), making what is missing of it as Docker does
// (mode 0755, owned by root).
func (x *extractor) parent(dir string) (int, error) {
	fd, err := x.f.open(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, classify(err)
	}
	cur := "/"
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		pfd, err := x.f.open(cur, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return -1, classify(err)
		}
		err = unix.Mkdirat(pfd, c, 0o755)
		if err == nil {
			err = unix.Fchownat(pfd, c, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
		}
		unix.Close(pfd)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, &os.PathError{Op: "mkdir", Path: path.Join(cur, c), Err: err}
		}
		cur = path.Join(cur, c)
	}
	fd, err = x.f.open(dir, unix.O_PATH|unix.O_DIRECTORY)
	return fd, classify(err)
}

// create makes the entry base in the directory pfd (target in the tree); isDir says a directory is there.
func (x *extractor) create(pfd int, base, target string, hdr *tar.Header, r io.Reader, isDir bool) error {
	perm := uint32(hdr.Mode & 0o7777)
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		if !isDir {
			err = unix.Mkdirat(pfd, base, 0o700)
		}
	case tar.TypeReg, tar.TypeRegA:
		return x.file(pfd, base, target, hdr, r)
	case tar.TypeLink:
		return x.hardlink(pfd, base, target, hdr.Linkname)
	case tar.TypeSymlink:
		// Docker's rule: a relative target that climbs out of the extraction point is refused.
		if !strings.HasPrefix(path.Join(path.Dir(target), hdr.Linkname), x.dest) {
			return invalidf(fmt.Sprintf("invalid symlink %q -> %q", target, hdr.Linkname))
		}
		err = unix.Symlinkat(hdr.Linkname, pfd, base)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}
		err = unix.Mknodat(pfd, base, kind[hdr.Typeflag]|perm, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
	default:
		return invalidf(fmt.Sprintf("unhandled tar header type %d", hdr.Typeflag))
	}
	if err != nil {
		return &os.PathError{Op: "create", Path: target, Err: err}
	}
	return nil
}

func (x *extractor) file(pfd int, base, target string, hdr *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: target, Err: err}
	}
	f := os.NewFile(uintptr(fd), target)
	defer f.Close()
	if x.buf == nil {
		x.buf = make([]byte, 256<<10)
	}
	n, err := io.CopyBuffer(f, io.LimitReader(r, hdr.Size), x.buf)
	if err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("%s: the tar ends inside the file: %w", target, ErrInvalid)
	}
	return nil
}

// hardlink links base to an earlier entry, named relative to the extraction point as Docker names it.
func (x *extractor) hardlink(pfd int, base, target, linkname string) error {
	to := path.Join(x.dest, linkname)
	if !within(x.dest, to) || to == x.dest {
		return invalidf(fmt.Sprintf("invalid hardlink %q -> %q", to, linkname))
	}
	dir, tbase := path.Split(to)
	tfd, err := x.f.open(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return classify(err)
	}
	defer unix.Close(tfd)
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return &os.PathError{Op: "link", Path: target, Err: err}
	}
	return nil
}

// metadata gives the entry its owner, mode, extended attributes and times (a directory's times wait for the
// end). The owner comes first: chown clears the setuid and setgid bits.
func (x *extractor) metadata(pfd int, base, target string, hdr *tar.Header) error {
	uid, gid := hdr.Uid, hdr.Gid
	if x.opts.Owner != nil {
		uid, gid = x.opts.Owner.UID, x.opts.Owner.GID
	}
	if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "chown", Path: target, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "lstat", Path: target, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		// A hard link to a symlink is a symlink: fchmodat would follow it.
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return &os.PathError{Op: "chmod", Path: target, Err: err}
		}
	}
	proc := fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base)
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || attr == "" {
			continue
		}
		err := unix.Lsetxattr(proc, attr, []byte(v), 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return &os.PathError{Op: "setxattr " + attr, Path: target, Err: err}
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		x.dirs = append(x.dirs, madeDir{path: target, hdr: hdr})
		return nil
	}
	if hdr.Typeflag == tar.TypeLink {
		return nil
	}
	return utimes(pfd, base, target, hdr)
}

func (x *extractor) setTimes(p string, hdr *tar.Header) error {
	dir, base := path.Split(p)
	pfd, err := x.f.open(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return classify(err)
	}
	defer unix.Close(pfd)
	return utimes(pfd, base, p, hdr)
}

// utimes sets the entry's times from the header; an access time before the modification time is taken as the
// modification time, as Docker does.
func utimes(pfd int, base, target string, hdr *tar.Header) error {
	atime := hdr.AccessTime
	if atime.Before(hdr.ModTime) {
		atime = hdr.ModTime
	}
	ts := []unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "set times of", Path: target, Err: err}
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(t.UnixNano())
}

// removeAllAt removes name in the directory dirFD and, for a directory, everything in it, never following a
// symlink.
func removeAllAt(dirFD int, name string) error {
	err := unix.Unlinkat(dirFD, name, 0)
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	fd, err := unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	names, err := readNames(fd)
	for _, n := range names {
		if err != nil {
			break
		}
		err = removeAllAt(fd, n)
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirFD, name, unix.AT_REMOVEDIR)
}
