package vsphere

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// mountOverlay mounts an overlay of lower (top first), with upper and work when upper is set, and returns a
// descriptor of its root; nothing else refers to the mount, so closing the descriptor unmounts it. It is
// mounted in a mount namespace of its own and detached there before anything else can see it, so the
// endpoint's namespace never holds it and a process that dies leaves nothing mounted. (fsmount would make a
// detached mount directly, but fsconfig takes at most 256 bytes of lowerdir, too few for a layer chain.)
func mountOverlay(lower []string, upper, work string) (int, error) {
	if len(lower) == 0 || (len(lower) == 1 && upper == "") {
		// Overlayfs takes at least one lower layer, two without an upper one: an empty one changes nothing.
		empty, err := os.MkdirTemp("", "vice-empty-layer")
		if err != nil {
			return -1, fmt.Errorf("empty layer: %w", errdefs.Classed(err, errdefs.ErrSystem))
		}
		defer os.Remove(empty) // the mount keeps its own reference
		lower = append(slices.Clone(lower), empty)
	}
	opts, err := overlayData(lower, upper, work)
	if err != nil {
		return -1, err
	}
	flags := uintptr(unix.MS_NODEV | unix.MS_NOSUID)
	if upper == "" {
		flags |= unix.MS_RDONLY
	}
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread stays locked: its filesystem state is no longer the process's, so the runtime ends it
		// (or parks it, should it be the main thread) rather than reuse it.
		runtime.LockOSThread()
		fd, err := mountDetached(opts, flags)
		ch <- result{fd, err}
	}()
	r := <-ch
	if r.err != nil {
		return -1, fmt.Errorf("mount the overlay of %d layers: %w", len(lower), errdefs.Classed(r.err, errdefs.ErrSystem))
	}
	return r.fd, nil
}

// mountDetached runs on a locked thread: in a new mount namespace, it mounts the overlay on a temporary
// directory, opens its root, detaches it, and goes back to the thread's first namespace.
func mountDetached(opts string, flags uintptr) (int, error) {
	home, err := os.Open("/proc/thread-self/ns/mnt")
	if err != nil {
		return -1, fmt.Errorf("mount namespace: %w", err)
	}
	defer home.Close()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return -1, fmt.Errorf("new mount namespace: %w", err)
	}
	defer func() { _ = unix.Setns(int(home.Fd()), unix.CLONE_NEWNS) }()
	// Private first: with shared mounts the overlay would propagate back to the endpoint's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return -1, fmt.Errorf("make the mounts private: %w", err)
	}
	dir, err := os.MkdirTemp("", "vice-overlay")
	if err != nil {
		return -1, err
	}
	defer os.Remove(dir)
	if err := unix.Mount("overlay", dir, "overlay", flags, opts); err != nil {
		return -1, fmt.Errorf("mount: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if uerr := unix.Unmount(dir, unix.MNT_DETACH); uerr != nil && err == nil {
		unix.Close(fd)
		return -1, fmt.Errorf("detach the overlay: %w", uerr)
	}
	if err != nil {
		return -1, fmt.Errorf("open the overlay's root: %w", err)
	}
	return fd, nil
}

// overlayData is the mount data. A ':' or '\' in a layer path is escaped as overlayfs reads it; a ',' cannot
// be passed through mount(2) data and is refused.
func overlayData(lower []string, upper, work string) (string, error) {
	var bad string
	esc := func(p string) string {
		if strings.Contains(p, ",") {
			bad = p
		}
		return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(p)
	}
	parts := make([]string, len(lower))
	for i, l := range lower {
		parts[i] = esc(l)
	}
	opts := "lowerdir=" + strings.Join(parts, ":")
	if upper != "" {
		opts += ",upperdir=" + esc(upper) + ",workdir=" + esc(work)
	}
	switch {
	case bad != "":
		return "", fmt.Errorf("layer path %q has a comma: %w", bad, errdefs.ErrSystem)
	case len(opts) >= os.Getpagesize():
		return "", fmt.Errorf("overlay options for %d layers exceed a page: %w", len(lower), errdefs.ErrSystem)
	}
	return opts, nil
}
