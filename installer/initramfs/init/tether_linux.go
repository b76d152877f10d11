package init

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	cdromDir = "/cdrom"
	rootDir  = "/root"
)

// guestEnv is what the tether and the appliance start with.
var guestEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "TERM=linux"}

// bootTether mounts the ISO and the container's disk, makes the disk the root and execs the ISO's tether in
// it. The tether's binary is opened before the switch and executed through its descriptor, so nothing of
// the ISO appears in the container's filesystem.
func bootTether() error {
	dev, err := mountCDROM(cdromDir, TetherPath)
	if err != nil {
		return err
	}
	logf("bootstrap image on %s", dev)
	root, err := mountRootDisk(rootDir)
	if err != nil {
		return err
	}
	logf("container disk %s", root)
	fd, err := unix.Open(filepath.Join(cdromDir, TetherPath), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the tether: %w", err)
	}
	if err := switchRoot(rootDir); err != nil {
		return err
	}
	err = execFD(fd, []string{"tether"}, guestEnv)
	return fmt.Errorf("exec the tether: %w", err)
}

// switchRoot makes the filesystem mounted at newRoot the root, as switch_root(8) does (pivot_root cannot
// leave the initramfs). /dev, /proc and /sys move with it, so the tether finds the machine's serial ports,
// fw_cfg and virtio ports when it starts (it mounts the container's own over them before the container's
// process runs); the initramfs's files are deleted to give their memory back.
func switchRoot(newRoot string) error {
	for _, m := range []string{"/dev", "/proc", "/sys"} {
		dst := filepath.Join(newRoot, m)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("switch root: %w", err)
		}
		if err := unix.Mount(m, dst, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("switch root: move %s: %w", m, err)
		}
	}
	freeInitramfs()
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("switch root: %w", err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("switch root: move %s to /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("switch root: chroot: %w", err)
	}
	return unix.Chdir("/")
}

// freeInitramfs deletes what the initramfs no longer needs (the modules are loaded, /init runs), if / is
// the initramfs (a ramfs or tmpfs) and never anything else.
func freeInitramfs() {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil || (st.Type != unix.RAMFS_MAGIC && st.Type != unix.TMPFS_MAGIC) {
		return
	}
	for _, p := range []string{"/lib", "/init"} {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			logf("free the initramfs: %v", err)
		}
	}
}

// execFD is execveat(fd, "", argv, env, AT_EMPTY_PATH): it runs the program open as fd, which need not be
// reachable by any path (x/sys has no wrapper for it).
func execFD(fd int, argv, env []string) error {
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	empty := []byte{0}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}
