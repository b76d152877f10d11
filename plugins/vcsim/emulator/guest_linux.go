package emulator

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/installer/vchwire"
)

// guestSpec is how a guest is started: the tether, its root overlay and its descriptors.
type guestSpec struct {
	tether string
	root   string   // the overlay's mount point, handed to the tether as wire.RootEnv
	device string   // block-disk mode: the container's disk, mounted on root instead of the overlay
	lower  []string // read-only layers, top first
	upper  string   // the container disk's contents
	work   string
	env    []string
	files  []*os.File   // descriptors 3.. (wire.FDSerial ...)
	stdio  *os.File     // the tether's stdout and stderr: its debug log
	cgroup *guestCgroup // the guest's cgroups, or nil
	netns  *os.File     // the VM's network namespace (net_linux.go)
}

// applianceSpec is how an appliance VM's init is started.
type applianceSpec struct {
	init  string
	root  string // the ISO's files (vchwire.ApplianceRootEnv), bound read-only in the guest's namespace
	env   []string
	files []*os.File // descriptors 3.. as for a containerVM
	stdio *os.File   // the init's stdout and stderr: appliance.log
	// nics is the namespace of the VM's vNICs, bound in the init's mount namespace at nicsPath: the init
	// itself runs in the host's network namespace, where its address is.
	nics     *os.File
	nicsPath string
}

// startGuest starts the tether as PID 1 of new PID, UTS, IPC and mount namespaces, on its overlay (or its
// disk's filesystem).
func startGuest(s guestSpec) (*exec.Cmd, error) {
	cmd := &exec.Cmd{
		Path: s.tether, Args: []string{"tether"}, Env: s.env, Dir: "/",
		Stdout: s.stdio, Stderr: s.stdio, ExtraFiles: s.files,
	}
	mount := func() error {
		if s.device != "" {
			if err := unix.Mount(s.device, s.root, "ext4", 0, ""); err != nil {
				return fmt.Errorf("mount the container's disk %s: %w", s.device, err)
			}
			return nil
		}
		opts, err := overlayOptions(s)
		if err != nil {
			return err
		}
		if err := unix.Mount("overlay", s.root, "overlay", 0, opts); err != nil {
			return fmt.Errorf("mount the disk chain's overlay (%d layers): %w", len(s.lower), err)
		}
		return nil
	}
	return cmd, startIsolated(cmd, s.root, mount, s.cgroup, s.netns)
}

// startAppliance starts an appliance's init the same way, in the host's network namespace, with the ISO's
// files read-only: the cache they live in is shared by every appliance booted from that ISO.
func startAppliance(s applianceSpec) (*exec.Cmd, error) {
	cmd := &exec.Cmd{
		Path: s.init, Args: []string{vchwire.ApplianceInit}, Env: s.env, Dir: "/",
		Stdout: s.stdio, Stderr: s.stdio, ExtraFiles: s.files,
	}
	mount := func() error {
		if err := unix.Mount(s.root, s.root, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind the appliance's files: %w", err)
		}
		if err := unix.Mount("", s.root, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("make the appliance's files read-only: %w", err)
		}
		if s.nics != nil {
			if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", s.nics.Fd()), s.nicsPath, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind the namespace of the appliance's vNICs: %w", err)
			}
		}
		return nil
	}
	return cmd, startIsolated(cmd, s.root, mount, nil, nil)
}

// startIsolated starts cmd as PID 1 of new PID, UTS, IPC and mount namespaces, with what mount mounts on
// target in its mount namespace only, and in the cgroups cg (when not nil).
//
// mount runs in a private mount namespace made on one locked thread, which then starts cmd with
// CLONE_NEWNS: the guest gets its own copy holding the mount, private too (so what the guest mounts stays
// in it), and when its last process dies the kernel unmounts it. The host's namespace never sees the mount,
// so nothing leaks and nothing is kept busy. The thread then goes back to the host's namespace, so the
// intermediate one (with its copy of the mount) is freed even when the thread is the main thread, which Go
// never ends; and it stays locked, so the runtime ends it (or parks it, for the main thread) rather than
// reuse a thread whose filesystem state is no longer shared with the process. It goes back after
// startIsolated has returned: the guest does not wait for the thread's way home (0.3 ms, up to several
// under load: an unmount, two setns and the cgroup moves).
//
// netns, when not nil, is the network namespace cmd starts in (entered by the same locked thread).
func startIsolated(cmd *exec.Cmd, target string, mount func() error, cg *guestCgroup, netns *os.File) error {
	// No Pdeathsig: guests belong to the daemon, not to the thread or request that booted them.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC,
	}
	v2 := cg.openV2()
	if v2 != nil {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(v2.Fd())
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if v2 != nil {
			defer v2.Close()
		}
		if netns != nil {
			back, err := enterNetns(netns)
			if err != nil {
				ch <- err
				return
			}
			defer func() { _ = back() }() // the thread stays locked: a failed return ends it with the goroutine
		}
		restore, err := startInNewMountNamespace(cmd, target, mount, cg)
		ch <- err
		restore()
	}()
	return <-ch
}

// startInNewMountNamespace starts cmd from a new mount namespace holding what mount mounts, on the calling
// (locked) thread; restore takes the thread back to the host's mount namespace and cgroups.
func startInNewMountNamespace(cmd *exec.Cmd, target string, mount func() error, cg *guestCgroup) (restore func(), err error) {
	host, err := os.Open("/proc/thread-self/ns/mnt")
	if err != nil {
		return func() {}, fmt.Errorf("host mount namespace: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		host.Close()
		return func() {}, fmt.Errorf("new mount namespace: %w", err)
	}
	leave := func() {}
	restore = func() {
		leave()
		// The guest holds its own copy. A failed return is not the guest's failure: the thread is never
		// reused, and at worst (the main thread) keeps this namespace until the daemon exits.
		_ = unix.Unmount(target, unix.MNT_DETACH)
		_ = unix.Setns(int(host.Fd()), unix.CLONE_NEWNS)
		host.Close()
	}
	// Private first: on a host whose mounts are shared (systemd's default), the guest's mounts would
	// otherwise propagate back to the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return restore, fmt.Errorf("make the guest's mounts private: %w", err)
	}
	if err := mount(); err != nil {
		return restore, err
	}
	// The v1 hierarchies take the thread that forks, the unified one the clone itself (CgroupFD).
	leave = cg.enterThread()
	return restore, cmd.Start()
}

// overlayOptions is the mount data. A ':' in a layer path is escaped as overlayfs reads it; a ',' cannot be
// passed through mount(2) data and is refused.
func overlayOptions(s guestSpec) (string, error) {
	esc := func(p string) (string, error) {
		if strings.Contains(p, ",") {
			return "", fmt.Errorf("layer path %q contains a comma", p)
		}
		return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(p), nil
	}
	lower := make([]string, len(s.lower))
	for i, l := range s.lower {
		var err error
		if lower[i], err = esc(l); err != nil {
			return "", err
		}
	}
	upper, err := esc(s.upper)
	if err != nil {
		return "", err
	}
	work, err := esc(s.work)
	if err != nil {
		return "", err
	}
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(opts) >= os.Getpagesize() {
		return "", fmt.Errorf("overlay options for %d layers exceed a page", len(s.lower))
	}
	return opts, nil
}

// killGuest kills PID 1; the kernel then kills every other process of its PID namespace.
func killGuest(cmd *exec.Cmd) error {
	return cmd.Process.Signal(syscall.SIGKILL)
}

// socketPair is a connected pair of stream sockets, close-on-exec (exec.Cmd dups the child's end).
func socketPair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "guestinfo-host"), os.NewFile(uintptr(fds[1]), "guestinfo-guest"), nil
}

// unmountRoot detaches anything mounted on root in the emulator's own namespace. Nothing should be: the
// overlay is mounted in the guest's namespace only.
func unmountRoot(root string) {
	_ = unix.Unmount(root, unix.MNT_DETACH) // best effort: removing the run folder reports what is left
}
