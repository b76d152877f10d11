//go:build linux

package vsphere

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Whiteout names of a Docker layer diff. Into a directory of its own, unpackTar turns them into overlayfs's
// own markers, so that stacking the chain's directories with overlayfs gives the image's filesystem; onto a
// filesystem that already holds the parent's (a child disk), it applies them: what they hide is removed.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."     // aufs bookkeeping (.wh..wh.plnk, ...): never part of the image
	whiteoutOpaque = ".wh..wh..opq" // the directory hides everything below it in lower layers
	opaqueXattr    = "trusted.overlay.opaque"
	overlayXattrs  = "trusted.overlay." // overlayfs's private attributes: only unpackTar may set them
	paxXattrPrefix = "SCHILY.xattr."
)

// unpackTar writes the layer diff read from r into the directory root and returns the bytes of its regular
// files. Every name is resolved below root one component at a time without following symlinks (openat with
// O_NOFOLLOW), so no entry can write outside root, whatever symlinks earlier entries made. A malformed tar or
// an entry that tries to escape is an errdefs.ErrInvalid error. r is read to its end, past the tar's own. With
// keep, the diff's index is written as it goes (see diffindex.go), so that the diff can be read back.
func unpackTar(ctx context.Context, r io.Reader, root string, keep *diffKeeping) (int64, error) {
	rootFD, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, sysErr("open", root, err)
	}
	defer unix.Close(rootFD)
	return unpackTarAt(ctx, r, rootFD, keep, false)
}

// unpackTarAt is unpackTar into the directory open as rootFD (left open). With applied, the directory holds
// the parent layers' files already (a child disk's filesystem): whiteouts remove what they hide instead of
// marking it for overlayfs.
func unpackTarAt(ctx context.Context, r io.Reader, rootFD int, keep *diffKeeping, applied bool) (int64, error) {
	u := &unpacker{root: rootFD, stashFD: -1}
	if applied {
		u.created = map[string]bool{}
	}
	defer u.closeStash()
	var err error
	src := r
	if keep != nil {
		if u.rec, err = newDiffRecorder(r, keep.index); err != nil {
			return 0, fmt.Errorf("write the diff index: %w", errdefs.Classed(err, errdefs.ErrSystem))
		}
		src, u.refs, u.stashPath, u.reserved = u.rec, map[string]int{}, keep.stash, keep.reserved
	}
	tr := tar.NewReader(src)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("diff tar: %w", errdefs.Classed(err, errdefs.ErrInvalid))
		}
		if err := u.entry(hdr, tr); err != nil {
			return 0, fmt.Errorf("diff tar entry %q: %w", hdr.Name, err)
		}
	}
	// What follows the end-of-archive blocks (record padding) is part of the diff and of its digest.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return 0, fmt.Errorf("diff stream after the tar: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	if u.rec != nil {
		if err := u.rec.finish(); err != nil {
			return 0, err
		}
	}
	// Directory times last: creating entries inside a directory changes its mtime.
	for i := len(u.dirs) - 1; i >= 0; i-- {
		if err := u.setTimes(u.dirs[i].name, u.dirs[i].hdr); err != nil {
			return 0, err
		}
	}
	return u.size, nil
}

type unpacker struct {
	root int
	size int64
	dirs []dirEntry
	buf  []byte // copyFile's, made on first use

	// created holds the names this diff made, when whiteouts are applied (nil otherwise): an opaque
	// directory keeps only those.
	created map[string]bool

	// Keeping the diff (nil rec: not kept).
	rec       *diffRecorder
	refs      map[string]int // the files whose contents the index refers to, by name, with their numbers
	stashPath string
	stashFD   int
	reserved  string // diffKeeping.reserved
}

// copyBuffer is how much of a file's contents is gathered before it is written: a decompressor hands out a
// few KiB per read, and a write per read would be most of an unpack's cost.
const copyBuffer = 256 << 10

// copyFile writes the size bytes of the file's contents from r to f in writes of up to copyBuffer bytes. A
// stream that ends early is io.ErrUnexpectedEOF.
func (u *unpacker) copyFile(f *os.File, r io.Reader, size int64) (int64, error) {
	if int64(len(u.buf)) < min(size, copyBuffer) {
		if size < copyBuffer && u.buf == nil {
			u.buf = make([]byte, size)
		} else {
			u.buf = make([]byte, copyBuffer)
		}
	}
	if size >= copyBuffer {
		// The blocks in one go: writing into them is much cheaper than having each write reserve its own.
		// Only an optimisation, so a filesystem without it is fine; the size still grows as data is written.
		_ = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, size)
	}
	var n int64
	for n < size {
		chunk := u.buf[:min(size-n, int64(len(u.buf)))]
		got, err := io.ReadFull(r, chunk)
		if got > 0 {
			w, werr := f.Write(chunk[:got])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

type dirEntry struct {
	name string
	hdr  *tar.Header
}

// cleanName makes a tar name relative to root: a leading "/" is dropped, and a ".." component is refused
// outright rather than cleaned away, since no honest diff has one. "" is root itself.
func cleanName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("name with a NUL byte: %w", errdefs.ErrInvalid)
	}
	n := strings.TrimLeft(name, "/")
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "", fmt.Errorf("name %q leaves the layer: %w", name, errdefs.ErrInvalid)
		}
	}
	if n = path.Clean(n); n == "." {
		return "", nil
	}
	return n, nil
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if u.reserved != "" && (name == u.reserved || strings.HasPrefix(name, u.reserved+"/")) {
		return fmt.Errorf("the name %q is the unpack's own: %w", name, errdefs.ErrInvalid)
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if base == whiteoutOpaque {
		return u.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("the layer root is not a directory: %w", errdefs.ErrInvalid)
		}
		if err := u.metadata(u.root, ".", hdr); err != nil {
			return err
		}
		u.dirs = append(u.dirs, dirEntry{name: "", hdr: hdr})
		return nil
	}
	pfd, err := u.openDir(dir, true)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if hidden, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		return u.whiteout(pfd, hidden, path.Join(dir, hidden))
	}
	if u.created != nil {
		u.created[name] = true
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(pfd, name, base, hdr)
	case tar.TypeReg:
		return u.file(pfd, name, base, hdr, r)
	case tar.TypeSymlink:
		if err := u.replace(pfd, base, name); err != nil {
			return err
		}
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return sysErr("symlink", name, err)
		}
		// A symlink's size is its target's length, and counts in the layer's size as Docker counts it.
		u.size += int64(len(hdr.Linkname))
		return u.pathMetadata(pfd, base, hdr, false)
	case tar.TypeLink:
		return u.hardlink(pfd, name, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := u.replace(pfd, base, name); err != nil {
			return err
		}
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, kind[hdr.Typeflag]|uint32(hdr.Mode&07777), int(dev)); err != nil {
			return sysErr("mknod", name, err)
		}
		return u.pathMetadata(pfd, base, hdr, true)
	}
	return fmt.Errorf("tar entry type %q is not supported: %w", hdr.Typeflag, errdefs.ErrInvalid)
}

// openDir opens the directory rel below root, never following a symlink; when create, missing directories
// are made (mode 0755, as tar tools do for parents a diff does not list).
func (u *unpacker) openDir(rel string, create bool) (int, error) {
	fd, err := unix.Openat(u.root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, sysErr("open", ".", err)
	}
	if rel == "" {
		return fd, nil
	}
	walked := ""
	for _, c := range strings.Split(rel, "/") {
		walked = path.Join(walked, c)
		next, err := openNoFollow(fd, c)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, c, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = openNoFollow(fd, c)
			}
		}
		unix.Close(fd)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || (!create && errors.Is(err, unix.ENOENT)) {
			return -1, fmt.Errorf("%q is a symlink, not a directory, or missing in the layer: %w", walked, errdefs.ErrInvalid)
		}
		if err != nil {
			return -1, sysErr("open", rel, err)
		}
		fd = next
	}
	return fd, nil
}

func openNoFollow(dirFD int, name string) (int, error) {
	return unix.Openat(dirFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

func (u *unpacker) dir(pfd int, name, base string, hdr *tar.Header) error {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := u.replace(pfd, base, name); err != nil {
			return err
		}
	}
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
			return sysErr("mkdir", name, err)
		}
	}
	fd, err := openNoFollow(pfd, base)
	if err != nil {
		return sysErr("open", name, err)
	}
	defer unix.Close(fd)
	if err := u.metadata(fd, name, hdr); err != nil {
		return err
	}
	u.dirs = append(u.dirs, dirEntry{name: name, hdr: hdr})
	return nil
}

func (u *unpacker) file(pfd int, name, base string, hdr *tar.Header, r io.Reader) error {
	if err := u.replace(pfd, base, name); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return sysErr("create", base, err)
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	// The index refers to the file for its contents, unless the tar holds them in another form (a sparse
	// file's data is its fragments): those bytes are kept as they are.
	referred := u.rec != nil && hdr.Size > 0 && !isSparse(hdr)
	if referred {
		u.refs[name] = u.rec.file(name, hdr.Size)
	}
	n, err := u.copyFile(f, r, hdr.Size)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: the tar ends inside the file: %w", base, errdefs.ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", base, classOf(err))
	}
	if referred && u.rec.pending() != 0 {
		return fmt.Errorf("%s: the contents in the tar are not the file's: %w", base, errdefs.ErrInvalid)
	}
	u.size += n
	if err := u.metadata(fd, base, hdr); err != nil {
		return err
	}
	return u.setTimesAt(pfd, base, hdr)
}

// hardlink links base to target, an earlier entry of this layer, resolved like any other name.
func (u *unpacker) hardlink(pfd int, name, base, linkname string) error {
	target, err := cleanName(linkname)
	if err != nil || target == "" {
		return fmt.Errorf("hard link to %q: %w", linkname, errdefs.ErrInvalid)
	}
	tdir, tbase := path.Split(target)
	tfd, err := u.openDir(strings.TrimSuffix(tdir, "/"), false)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", linkname, err)
	}
	defer unix.Close(tfd)
	if err := u.replace(pfd, base, name); err != nil {
		return err
	}
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) {
			return fmt.Errorf("hard link to %q, which is not a file of this layer: %w", linkname, errdefs.ErrInvalid)
		}
		return sysErr("link", base, err)
	}
	return nil
}

// whiteout hides name (full, below root) in lower layers: overlayfs's whiteout is a character device 0:0;
// applied, it is the removal of whatever is there.
func (u *unpacker) whiteout(pfd int, name, full string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("whiteout of %q: %w", name, errdefs.ErrInvalid)
	}
	if err := u.replace(pfd, name, full); err != nil {
		return err
	}
	if u.created != nil {
		delete(u.created, full)
		return nil
	}
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return sysErr("mknod whiteout", name, err)
	}
	return nil
}

// opaque marks dir as hiding the lower layers' contents of the same directory; applied, everything below dir
// that this diff did not make is removed (what it makes later stays, as it comes after).
func (u *unpacker) opaque(dir string) error {
	fd, err := u.openDir(dir, true)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if u.created != nil {
		return u.keepCreated(fd, dir)
	}
	if err := unix.Fsetxattr(fd, opaqueXattr, []byte("y"), 0); err != nil {
		return sysErr("mark opaque", dir, err)
	}
	return nil
}

// keepCreated removes, below the directory fd (dir below root), every entry this diff did not make; a
// directory it made keeps its own made entries only.
func (u *unpacker) keepCreated(fd int, dir string) error {
	dup, err := unix.Dup(fd) // the caller keeps fd
	if err != nil {
		return sysErr("read", dir, err)
	}
	f := os.NewFile(uintptr(dup), dir)
	_, err = f.Seek(0, io.SeekStart)
	var names []string
	if err == nil {
		names, err = f.Readdirnames(-1)
	}
	f.Close()
	if err != nil {
		return sysErr("read", dir, err)
	}
	for _, n := range names {
		full := path.Join(dir, n)
		if dir == "" && n == u.reserved {
			continue
		}
		if !u.created[full] {
			if err := u.replace(fd, n, full); err != nil {
				return err
			}
			continue
		}
		sub, err := openNoFollow(fd, n)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			continue // a file or link this diff made
		}
		if err != nil {
			return sysErr("open", full, err)
		}
		err = u.keepCreated(sub, full)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}
