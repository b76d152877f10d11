package init

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// bootAppliance mounts appliance.iso, configures the network and execs the ISO's init (vice-appliance),
// which finds its files beside itself and keeps the initramfs as its writable root.
func bootAppliance() error {
	dev, err := mountCDROM(cdromDir, AppliancePath)
	if err != nil {
		return err
	}
	logf("appliance image on %s", dev)
	if err := configureNetwork(); err != nil {
		// The appliance reports that it has no address; the VM stays up for debugging.
		logf("network: %v", err)
	}
	path := filepath.Join(cdromDir, AppliancePath)
	err = unix.Exec(path, []string{"init"}, guestEnv)
	return fmt.Errorf("exec %s: %w", path, err)
}
