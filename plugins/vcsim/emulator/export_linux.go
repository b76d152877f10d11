package emulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A disk given to a guest as a block device, as ESXi would resolve its chain of delta disks: QEMU's storage
// daemon opens the disk's descriptor (its vmdk driver follows parentFileNameHint to the base disk and reads
// each grain from the first disk of the chain that has it) and exports the result as one file over FUSE,
// and a loop device makes that file a block device. Writes go to the top disk of the chain only.

const (
	storageDaemon = "qemu-storage-daemon"
	exportWait    = 30 * time.Second
	releaseWait   = 30 * time.Second
)

// diskExport is one disk exported as a block device.
type diskExport struct {
	desc     string // the disk's local descriptor
	file     string // the export: a file the daemon serves
	loop     string // "/dev/loop3"
	readOnly bool
	daemon   *exec.Cmd
	exited   chan struct{}
	out      *lockedBuffer
}

// exportDisk exports the disk whose descriptor is desc at the path file (which names the device: its base
// name is what the guest's loop device reports as its backing file) and attaches a loop device to it. A disk
// whose files another export still holds (a VM that just let go of it: the simulator's reconfigure does not
// wait for the emulator) is waited for, as ESXi waits for a disk's lock.
func exportDisk(ctx context.Context, desc, file string, readOnly bool) (*diskExport, error) {
	if _, err := exec.LookPath(storageDaemon); err != nil {
		return nil, fmt.Errorf("block disks need %s (Debian: qemu-system-common): %w", storageDaemon, err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(exportWait)
	for {
		x, err := startExport(ctx, desc, file, readOnly)
		if err == nil || !errors.Is(err, errLocked) || time.Now().After(deadline) {
			return x, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// errLocked says the daemon found the disk's files locked by another.
var errLocked = errors.New("the disk is in use")

func startExport(ctx context.Context, desc, file string, readOnly bool) (_ *diskExport, err error) {
	if err := os.WriteFile(file, nil, 0o600); err != nil { // FUSE mounts the export over a file
		return nil, err
	}
	ro, writable := "off", "on"
	if readOnly {
		ro, writable = "on", "off"
	}
	x := &diskExport{desc: desc, file: file, readOnly: readOnly, exited: make(chan struct{}), out: &lockedBuffer{}}
	x.daemon = exec.Command(storageDaemon,
		"--blockdev", "driver=file,node-name=file,filename="+qemuOption(desc)+",read-only="+ro,
		"--blockdev", "driver=vmdk,node-name=disk,file=file,read-only="+ro,
		"--export", "type=fuse,id=export,node-name=disk,mountpoint="+qemuOption(file)+",writable="+writable)
	x.daemon.Stdout, x.daemon.Stderr = x.out, x.out
	// The daemon goes with the emulator (the FUSE mount with it), and keeps its own process group.
	x.daemon.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := spawn(x.daemon); err != nil {
		os.Remove(file)
		return nil, fmt.Errorf("export %s: %w", desc, err)
	}
	go func() { _ = x.daemon.Wait(); close(x.exited) }()
	defer func() {
		if err != nil {
			x.close()
		}
	}()
	if err := x.waitExported(ctx); err != nil {
		return nil, err
	}
	if x.loop, err = attachLoop(file, readOnly); err != nil {
		return nil, fmt.Errorf("export %s: %w", desc, err)
	}
	return x, nil
}

// lockedBuffer collects a daemon's output, written and read from different goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// qemuOption escapes a value for QEMU's key=value option syntax, where a comma is written twice.
func qemuOption(v string) string { return strings.ReplaceAll(v, ",", ",,") }

// waitExported waits until the daemon's FUSE mount covers the export file.
func (x *diskExport) waitExported(ctx context.Context) error {
	var dir unix.Stat_t
	if err := unix.Stat(filepath.Dir(x.file), &dir); err != nil {
		return err
	}
	deadline := time.After(exportWait)
	for {
		var st unix.Stat_t
		if err := unix.Stat(x.file, &st); err == nil && st.Dev != dir.Dev {
			return nil
		}
		select {
		case <-x.exited:
			out := strings.TrimSpace(x.out.String())
			if strings.Contains(out, "Failed to get") && strings.Contains(out, "lock") {
				return fmt.Errorf("export %s: %s: %w", x.desc, out, errLocked)
			}
			return fmt.Errorf("export %s: %s stopped: %s", x.desc, storageDaemon, out)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("export %s: %s did not export it in %v", x.desc, storageDaemon, exportWait)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// close detaches the loop device (once nothing holds it), stops the daemon, which flushes the disk and
// unmounts its export, and removes the export file.
func (x *diskExport) close() error {
	var errs []error
	if x.loop != "" {
		if err := detachLoop(x.loop, x.file); err != nil {
			errs = append(errs, err)
		}
	}
	if !x.stop() {
		_ = x.daemon.Process.Kill()
		<-x.exited
		errs = append(errs, fmt.Errorf("%s for %s did not stop; killed", storageDaemon, x.desc))
	}
	// A daemon that died leaves its mount behind, disconnected.
	_ = unix.Unmount(x.file, unix.MNT_DETACH)
	if err := os.Remove(x.file); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stop asks the daemon to quit (SIGTERM: it flushes the disk and unmounts its export) and says whether it did
// within releaseWait. The request is repeated: the daemon's handler only sets a flag that its main loop reads
// when it wakes, so a SIGTERM that lands while the daemon is busy (answering the loop device's last requests)
// leaves it asleep in ppoll until its next event, which an idle export never gets; each further signal wakes it.
func (x *diskExport) stop() bool {
	deadline := time.After(releaseWait)
	for {
		select {
		case <-x.exited:
			return true
		default:
		}
		_ = x.daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-x.exited:
			return true
		case <-deadline:
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// attachLoop attaches a free loop device to file.
func attachLoop(file string, readOnly bool) (string, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("loop devices: %w", err)
	}
	defer ctl.Close()
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	backing, err := os.OpenFile(file, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer backing.Close()
	for range 16 { // another process may take the free device first
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("a free loop device: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		if _, err := os.Stat(dev); os.IsNotExist(err) {
			_ = unix.Mknod(dev, unix.S_IFBLK|0o660, int(unix.Mkdev(7, uint32(n))))
		}
		lf, err := os.OpenFile(dev, flag|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", err
		}
		cfg := &unix.LoopConfig{Fd: uint32(backing.Fd())}
		if readOnly {
			cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY
		}
		err = unix.IoctlLoopConfigure(int(lf.Fd()), cfg)
		lf.Close()
		if errors.Is(err, unix.EBUSY) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("attach %s to %s: %w", dev, file, err)
		}
		return dev, nil
	}
	return "", errors.New("no free loop device")
}

// detachLoop detaches the loop device dev from file. A device still held (a guest's filesystem on its way
// down) is marked to go when let go, and waited for.
func detachLoop(dev, file string) error {
	lf, err := os.OpenFile(dev, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	err = unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_CLR_FD, 0)
	if errors.Is(err, unix.EBUSY) {
		if info, gerr := unix.IoctlLoopGetStatus64(int(lf.Fd())); gerr == nil {
			info.Flags |= unix.LO_FLAGS_AUTOCLEAR
			err = unix.IoctlLoopSetStatus64(int(lf.Fd()), info)
		}
	}
	lf.Close()
	if err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("detach %s: %w", dev, err)
	}
	backing := filepath.Join("/sys/block", filepath.Base(dev), "loop", "backing_file")
	deadline := time.Now().Add(releaseWait)
	for {
		b, err := os.ReadFile(backing)
		if err != nil || strings.TrimSpace(string(b)) != file {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still holds %s after %v", dev, file, releaseWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanStaleExports takes away what a crashed emulator left in dir: loop devices over its export files and
// the daemons' mounts (their daemons went with the emulator).
func cleanStaleExports(dir string) {
	loops, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, bf := range loops {
		b, err := os.ReadFile(bf)
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(b)), dir+"/") {
			continue
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(bf)))
		_ = detachLoop(dev, strings.TrimSpace(string(b)))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		_ = unix.Unmount(p, unix.MNT_DETACH)
		_ = os.Remove(p)
	}
}

// The parent-death signal comes when the thread that started a process ends, not the process: Go ends
// threads (those locked by a goroutine that exits, as the guests' starts do), which would take the daemons
// with them. So they are started from one thread that lives as long as the process.
var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread stays for the process's life
			for r := range spawnCh {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawnCh <- r
	return <-r.done
}
