//go:build linux

package vsphere

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// metadata gives the open file or directory fd the entry's owner, mode and extended attributes. The owner
// comes first because chown clears the setuid and setgid bits.
func (u *unpacker) metadata(fd int, name string, hdr *tar.Header) error {
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return sysErr("chown", name, err)
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&07777)); err != nil {
		return sysErr("chmod", name, err)
	}
	for attr, value := range entryXattrs(hdr) {
		if err := unix.Fsetxattr(fd, attr, []byte(value), 0); err != nil {
			return sysErr("setxattr "+attr, name, err)
		}
	}
	return nil
}

// pathMetadata is metadata for entries that cannot be opened (symlinks, devices, fifos), addressed by name
// in the directory pfd without following a symlink. chmod is false for symlinks, which have no mode.
func (u *unpacker) pathMetadata(pfd int, base string, hdr *tar.Header, chmod bool) error {
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return sysErr("chown", base, err)
	}
	if chmod { // base was just made by mknod, so it is no symlink to follow
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode&07777), 0); err != nil {
			return sysErr("chmod", base, err)
		}
	}
	// There is no fd-relative lsetxattr; the directory's /proc/self/fd link keeps the resolution below root.
	proc := fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base)
	for attr, value := range entryXattrs(hdr) {
		if err := unix.Lsetxattr(proc, attr, []byte(value), 0); err != nil {
			return sysErr("setxattr "+attr, base, err)
		}
	}
	return u.setTimesAt(pfd, base, hdr)
}

// entryXattrs are the extended attributes recorded in the entry's PAX records, without overlayfs's private
// ones: only whiteout translation may decide what a lower layer hides or redirects.
func entryXattrs(hdr *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, paxXattrPrefix)
		if !ok || attr == "" || strings.HasPrefix(attr, overlayXattrs) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[attr] = v
	}
	return out
}

// setTimes sets the times of the entry name ("" for root), resolving its directory afresh.
func (u *unpacker) setTimes(name string, hdr *tar.Header) error {
	if name == "" {
		return u.setTimesAt(u.root, ".", hdr)
	}
	dir, base := path.Split(name)
	pfd, err := u.openDir(strings.TrimSuffix(dir, "/"), false)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	return u.setTimesAt(pfd, base, hdr)
}

func (u *unpacker) setTimesAt(pfd int, base string, hdr *tar.Header) error {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	ts := []unix.Timespec{timespec(atime), timespec(hdr.ModTime)}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return sysErr("set times of", base, err)
	}
	return nil
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// replace removes what an earlier entry of the same layer left at base (name below root); a later entry wins,
// as in tar. Files the diff index refers to are moved to the stash instead of being deleted.
func (u *unpacker) replace(pfd int, base, name string) error {
	if err := u.stash(pfd, base, name); err != nil {
		return err
	}
	err := unix.Unlinkat(pfd, base, 0)
	if errors.Is(err, unix.EISDIR) {
		if err := u.stashUnder(name); err != nil {
			return err
		}
		u.forgetDirs(name)
		err = removeAllAt(pfd, base)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return sysErr("replace", base, err)
	}
	return nil
}

// forgetDirs drops the directory name and those below it from the directories whose times are set at the end:
// an entry replaces them.
func (u *unpacker) forgetDirs(name string) {
	u.dirs = slices.DeleteFunc(u.dirs, func(d dirEntry) bool {
		return d.name == name || strings.HasPrefix(d.name, name+"/")
	})
}

// stash moves the file base in pfd (name below root) into the stash when the diff index refers to it.
func (u *unpacker) stash(pfd int, base, name string) error {
	k, ok := u.refs[name]
	if !ok {
		return nil
	}
	if u.stashFD < 0 {
		if err := unix.Mkdir(u.stashPath, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return sysErr("make the stash", u.stashPath, err)
		}
		fd, err := unix.Open(u.stashPath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return sysErr("open the stash", u.stashPath, err)
		}
		u.stashFD = fd
	}
	if err := unix.Renameat(pfd, base, u.stashFD, strconv.Itoa(k)); err != nil {
		return sysErr("stash", name, err)
	}
	delete(u.refs, name)
	return nil
}

// stashUnder stashes the referred files below the directory name, which is about to be removed.
func (u *unpacker) stashUnder(name string) error {
	prefix := name + "/"
	var below []string
	for n := range u.refs {
		if strings.HasPrefix(n, prefix) {
			below = append(below, n)
		}
	}
	for _, n := range below {
		dir, base := path.Split(n)
		pfd, err := u.openDir(strings.TrimSuffix(dir, "/"), false)
		if err != nil {
			return err
		}
		err = u.stash(pfd, base, n)
		unix.Close(pfd)
		if err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) closeStash() {
	if u.stashFD >= 0 {
		unix.Close(u.stashFD)
		u.stashFD = -1
	}
}

// isSparse tells a sparse file, whose data in the tar is not its contents as they are.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// localLayerFiles opens the files of an unpacked layer for reading its diff back.
type localLayerFiles struct {
	u     unpacker
	stash int // -1: nothing was stashed
}

func openLayerFiles(root, stash string) (layerFiles, error) {
	rootFD, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, sysErr("open", root, err)
	}
	l := &localLayerFiles{u: unpacker{root: rootFD, stashFD: -1}, stash: -1}
	fd, err := unix.Open(stash, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case err == nil:
		l.stash = fd
	case !errors.Is(err, unix.ENOENT):
		unix.Close(rootFD)
		return nil, sysErr("open", stash, err)
	}
	return l, nil
}

func (l *localLayerFiles) open(name string) (*os.File, error) {
	dir, base := path.Split(name)
	pfd, err := l.u.openDir(strings.TrimSuffix(dir, "/"), false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pfd)
	return openFileAt(pfd, base)
}

func (l *localLayerFiles) stashed(k int) (*os.File, error) {
	if l.stash < 0 {
		return nil, os.ErrNotExist
	}
	f, err := openFileAt(l.stash, strconv.Itoa(k))
	if errors.Is(err, unix.ENOENT) {
		return nil, os.ErrNotExist
	}
	return f, err
}

func (l *localLayerFiles) Close() error {
	if l.stash >= 0 {
		unix.Close(l.stash)
	}
	return unix.Close(l.u.root)
}

// openFileAt opens the regular file base in the directory dirFD for reading, not following a symlink.
func openFileAt(dirFD int, base string) (*os.File, error) {
	// O_NONBLOCK: whatever is there, the open must not wait (a fifo); the caller checks it is a file.
	fd, err := unix.Openat(dirFD, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), base), nil
}

// removeAllAt removes the directory name below dirFD and everything in it, never following a symlink.
func removeAllAt(dirFD int, name string) error {
	fd, err := openNoFollow(dirFD, name)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	names, err := f.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = unix.Unlinkat(fd, n, 0); errors.Is(err, unix.EISDIR) {
				err = removeAllAt(fd, n)
			}
			if err != nil {
				break
			}
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirFD, name, unix.AT_REMOVEDIR)
}

func sysErr(op, name string, err error) error {
	return fmt.Errorf("%s %s: %w", op, name, errdefs.Classed(err, errdefs.ErrSystem))
}

// classOf keeps a classified error (such as a cancelled context) and classes anything else as a system error.
func classOf(err error) error {
	if errdefs.Sentinel(err) != errdefs.ErrSystem || errors.Is(err, errdefs.ErrSystem) {
		return err
	}
	return errdefs.Classed(err, errdefs.ErrSystem)
}

// fdLayerFiles opens the files of a layer mounted at the directory root, and its stashed files through
// stashed.
type fdLayerFiles struct {
	u     unpacker
	fetch func(k int) (*os.File, error)
}

func newFDLayerFiles(root int, stashed func(k int) (*os.File, error)) layerFiles {
	return &fdLayerFiles{u: unpacker{root: root, stashFD: -1}, fetch: stashed}
}

func (l *fdLayerFiles) open(name string) (*os.File, error) {
	dir, base := path.Split(name)
	pfd, err := l.u.openDir(strings.TrimSuffix(dir, "/"), false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pfd)
	return openFileAt(pfd, base)
}

func (l *fdLayerFiles) stashed(k int) (*os.File, error) { return l.fetch(k) }

// Close leaves root open: it is the mount's.
func (l *fdLayerFiles) Close() error { return nil }
