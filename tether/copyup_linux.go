package tether

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// copyUp fills an empty volume from the image, as Docker does the first time a volume is mounted where the
// image has files: when the volume root vol is empty (a fresh filesystem's lost+found aside) and the image's
// dst is a directory, dst's contents are copied in with their owners, modes and times, and the volume's root
// takes dst's owner and mode. Anything else is left as it is.
func copyUp(dst, vol string) error {
	st, err := os.Lstat(dst)
	if err != nil || !st.IsDir() {
		return nil
	}
	entries, err := os.ReadDir(vol)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != "lost+found" {
			return nil
		}
	}
	if err := copyMeta(dst, vol, st); err != nil {
		return err
	}
	return filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		if rel == "." {
			return nil
		}
		return copyEntry(p, filepath.Join(vol, rel))
	})
}

// copyEntry copies one file, directory, link or node from src to dst.
func copyEntry(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	mode := st.Mode()
	switch {
	case mode.IsDir():
		if err := os.Mkdir(dst, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	case mode.IsRegular():
		if err := copyFile(src, dst); err != nil {
			return err
		}
	case mode&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	default:
		sys, _ := st.Sys().(*syscall.Stat_t)
		if sys == nil {
			return nil
		}
		if err := unix.Mknod(dst, sys.Mode, int(sys.Rdev)); err != nil {
			return err
		}
	}
	return copyMeta(src, dst, st)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// copyMeta gives dst the owner, mode and modification time of src (st), without following a link.
func copyMeta(src, dst string, st os.FileInfo) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := os.Lchown(dst, int(sys.Uid), int(sys.Gid)); err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink == 0 {
		if err := unix.Chmod(dst, sys.Mode&0o7777); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(st.ModTime().UnixNano()), unix.NsecToTimespec(st.ModTime().UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
}
