package tether

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// pivotRoot makes root the filesystem root of this mount namespace: every mount is made private first so
// nothing propagates back to the emulator's host, root is bound onto itself so it is a mount point, and
// the old root is detached (pivot_root(".", ".") as runc does, so no directory is left in the image).
func pivotRoot(root string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind root %s: %w", root, err)
	}
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	// The old root is stacked under the new one at "/": detaching "." removes it.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return unix.Chdir("/")
}

// mountSpec is one filesystem the container expects, in the order they must be mounted.
type mountSpec struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	// optional mounts are skipped when the kernel lacks the filesystem.
	optional bool
}

const commonFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// containerMounts are the pseudo-filesystems of a container root, as Docker gives them.
var containerMounts = []mountSpec{
	{"proc", "/proc", "proc", commonFlags, "", false},
	{"sysfs", "/sys", "sysfs", commonFlags | unix.MS_RDONLY, "", false},
	{"tmpfs", "/dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k", false},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", false},
	{"shm", "/dev/shm", "tmpfs", commonFlags, "mode=1777,size=65536k", false},
	{"mqueue", "/dev/mqueue", "mqueue", commonFlags, "", true},
}

// mountAll mounts specs in order, creating each mount point the image lacks.
func mountAll(specs []mountSpec) error {
	for _, m := range specs {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("mount point %s: %w", m.target, err)
		}
		err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data)
		if err != nil && m.optional && errors.Is(err, unix.ENODEV) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return nil
}

// deviceNode is a character device in the container's /dev.
type deviceNode struct {
	path         string
	major, minor uint32
	mode         uint32
}

// devices are the standard nodes every container gets.
var devices = []deviceNode{
	{"/dev/null", 1, 3, 0o666},
	{"/dev/zero", 1, 5, 0o666},
	{"/dev/full", 1, 7, 0o666},
	{"/dev/random", 1, 8, 0o666},
	{"/dev/urandom", 1, 9, 0o666},
	{"/dev/tty", 5, 0, 0o666},
	{"/dev/console", 5, 1, 0o600},
}

// devLinks point into /proc and /dev/pts, so ptmx is the container's own devpts instance.
var devLinks = []struct{ target, path string }{
	{"pts/ptmx", "/dev/ptmx"},
	{"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
}

// populateDev creates the nodes and links in a fresh /dev tmpfs.
func populateDev() error {
	// The umask would strip the nodes' group and other bits.
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devices {
		err := unix.Mknod(d.path, unix.S_IFCHR|d.mode, int(unix.Mkdev(d.major, d.minor)))
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mknod %s: %w", d.path, err)
		}
	}
	for _, l := range devLinks {
		if err := os.Symlink(l.target, l.path); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("symlink %s: %w", l.path, err)
		}
	}
	return nil
}

// prepareRoot turns the guest's root filesystem into a container root with the container's mounts. root is
// the directory the emulator prepared, or "" when the tether already runs in the container's root (a real VM).
func prepareRoot(root string, mounts []wire.Mount) error {
	// The mounts' sources are opened first: the emulator's are host paths, which the pivot hides.
	srcs, err := openMountSources(root != "", mounts)
	if err != nil {
		return err
	}
	if root != "" {
		if err := pivotRoot(root); err != nil {
			closeMountSources(srcs)
			return err
		}
	} else {
		// In a VM the boot's /init left the machine's /proc and /sys (the tether found its devices through
		// them); the container gets its own, which cannot be mounted over the same filesystems.
		for _, m := range []string{"/proc", "/sys"} {
			_ = unix.Unmount(m, unix.MNT_DETACH)
		}
	}
	// /dev must be mounted before its children and populated before anything opens ptmx.
	if err := mountAll(containerMounts[:3]); err != nil {
		closeMountSources(srcs)
		return err
	}
	if err := populateDev(); err != nil {
		closeMountSources(srcs)
		return err
	}
	if err := mountAll(containerMounts[3:]); err != nil {
		closeMountSources(srcs)
		return err
	}
	return attachMounts(srcs)
}
