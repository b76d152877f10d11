//go:build linux

package vsphere

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"path"
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

// replace removes what an earlier entry of the same layer left at base; a later entry wins, as in tar.
func (u *unpacker) replace(pfd int, base string) error {
	err := unix.Unlinkat(pfd, base, 0)
	if errors.Is(err, unix.EISDIR) {
		err = removeAllAt(pfd, base)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return sysErr("replace", base, err)
	}
	return nil
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
