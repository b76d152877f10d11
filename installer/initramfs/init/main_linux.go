package init

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Main is the life of /init: it prepares the machine and execs the tether or the appliance's init, and
// does not return. Anything that stops it powers the VM off.
func Main() {
	if len(os.Args) > 1 && os.Args[1] == renewArg {
		renewerMain(os.Args[2:])
		return
	}
	if err := boot(); err != nil {
		logf("boot failed: %v", err)
		halt()
	}
	logf("boot: nothing to hand over to")
	halt()
}

func boot() error {
	if err := mountAll(earlyMounts); err != nil {
		return err
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return fmt.Errorf("kernel command line: %w", err)
	}
	role, _ := kernelArg(string(cmdline), BootArg)
	if err := loadModules(ModuleList); err != nil {
		return err
	}
	switch role {
	case BootTether:
		return bootTether()
	case BootAppliance:
		return bootAppliance()
	}
	return fmt.Errorf("the kernel command line has no %s=%s or %s=%s", BootArg, BootTether, BootArg, BootAppliance)
}

// logf writes a line to the console (the VM's log serial port).
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "vice-init: "+format+"\n", args...)
}

// halt powers the machine off; PID 1 must never return.
func halt() {
	unix.Sync()
	time.Sleep(time.Second) // the console drains
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		time.Sleep(time.Hour)
	}
}
