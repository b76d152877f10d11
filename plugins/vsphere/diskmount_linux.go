package vsphere

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// mountedFS is the filesystem of an attached disk, mounted where no other process sees it: in a mount
// namespace of its own that is gone as soon as it is made, so that only root (an open descriptor of the
// filesystem's root directory) reaches it. Nothing is left mounted if the process dies; closing root
// unmounts it.
type mountedFS struct {
	root *os.File
}

// mountDisk mounts the ext4 filesystem on dev (read-only: without replaying its journal, which a read-only
// disk could not keep).
func mountDisk(dev string, readOnly bool) (*mountedFS, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread leaves the namespace again but stays locked, so the runtime ends it rather than reuse a
		// thread whose filesystem context is no longer the process's (unshare(CLONE_NEWNS) gives it its own).
		runtime.LockOSThread()
		f, err := mountPrivately(dev, readOnly)
		ch <- result{f, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	return &mountedFS{root: r.f}, nil
}

func mountPrivately(dev string, readOnly bool) (*os.File, error) {
	host, err := os.Open("/proc/thread-self/ns/mnt")
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	defer host.Close()
	dir, err := os.MkdirTemp("", "vice-disk-")
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	defer os.Remove(dir)
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("mount %s: a mount namespace: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	// Back to the host's namespace whatever happens: the private one then has no process and goes, taking
	// the mount point with it; the filesystem stays for as long as root is open.
	defer func() { _ = unix.Setns(int(host.Fd()), unix.CLONE_NEWNS) }()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("mount %s: make mounts private: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	flags, data := uintptr(unix.MS_NOSUID|unix.MS_NODEV), ""
	if readOnly {
		flags, data = flags|unix.MS_RDONLY, "noload"
	}
	if err := unix.Mount(dev, dir, "ext4", flags, data); err != nil {
		return nil, fmt.Errorf("mount %s: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	f, err := os.Open(dir)
	if err != nil {
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		return nil, fmt.Errorf("mount %s: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	return f, nil
}

// fd is the root directory's descriptor.
func (m *mountedFS) fd() int {
	var fd int
	rc, _ := m.root.SyscallConn()
	_ = rc.Control(func(p uintptr) { fd = int(p) })
	return fd
}

// close writes the filesystem out and unmounts it: the last reference to a detached mount goes with the
// descriptor, and the kernel shuts the filesystem down before close returns.
func (m *mountedFS) close() error {
	var serr error
	rc, err := m.root.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) })
	}
	cerr := m.root.Close()
	if err := errors.Join(err, serr, cerr); err != nil {
		return fmt.Errorf("write the disk's filesystem out: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	return nil
}
