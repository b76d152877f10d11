package appliance

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// childAttr starts a child in a session of its own (so signals meant for the init's terminal miss it),
// killed if the init dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}

// keepInherited marks the emulator's descriptors (wire.FD*) close-on-exec: they are the init's, and a
// child holding the guestinfo socket would keep it open after the init has gone.
func keepInherited() {
	for fd := wire.FDSerial; fd <= wire.FDGuestInfo; fd++ {
		unix.CloseOnExec(fd)
	}
}

// mount is one filesystem PID 1 mounts.
type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

// setupPID1 mounts what the appliance needs as the first process of its machine. Under the emulator the
// init has a mount namespace of its own, which it first makes private all through (so nothing it mounts
// can reach the host) before mounting a /proc that shows its own PID namespace. In a VM it mounts the usual
// kernel filesystems, leaving any that an initramfs mounted already.
func setupPID1(log *slog.Logger, emulated bool) {
	if emulated {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			log.Warn("make the mounts private; /proc left as it is", "err", err)
			return
		}
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			log.Warn("mount /proc", "err", err)
		}
		return
	}
	for _, m := range []mount{
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
		{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	} {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			log.Warn("mount point", "target", m.target, "err", err)
			continue
		}
		err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data)
		if err != nil && !errors.Is(err, unix.EBUSY) {
			log.Warn("mount", "target", m.target, "type", m.fstype, "err", err)
		}
	}
}

// powerOff ends a VM whose init is done, as halting does.
func powerOff() error {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		return fmt.Errorf("power off: %w", err)
	}
	return nil
}
