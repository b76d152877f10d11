package initramfs

import (
	"fmt"
	"os"
	"path/filepath"
)

// Kernel is a Linux kernel and its modules as a Debian kernel package lays them out once unpacked
// (dpkg-deb -x): boot/vmlinuz-<release> and lib/modules/<release>/.
type Kernel struct {
	Image      string // boot/vmlinuz-<release>
	ModulesDir string // lib/modules/<release>
	Release    string
}

// FindKernel finds the one kernel below root, an unpacked kernel package.
func FindKernel(root string) (Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return Kernel{}, fmt.Errorf("kernel package %s: want one boot/vmlinuz-*, found %d", root, len(images))
	}
	k := Kernel{Image: images[0], Release: filepath.Base(images[0])[len("vmlinuz-"):]}
	k.ModulesDir = filepath.Join(root, "lib", "modules", k.Release)
	if st, err := os.Stat(k.ModulesDir); err != nil || !st.IsDir() {
		return Kernel{}, fmt.Errorf("kernel package %s: no modules for %s", root, k.Release)
	}
	return k, nil
}
