package initramfs

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// VMwareModules drive the virtual hardware of a vSphere VM: the paravirtual SCSI controller and its disks,
// the IDE CD-ROM that holds the ISO and its filesystem, and the vmxnet3 NIC. ext4 is built into Debian's
// kernels.
var VMwareModules = []string{"vmw_pvscsi", "sd_mod", "ata_piix", "ata_generic", "sr_mod", "isofs", "vmxnet3"}

// QEMUModules drive QEMU's paravirtual devices and fw_cfg, through which QEMU hands a guest its
// configuration (tether/guestinfo's QEMU transport).
var QEMUModules = []string{"virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "virtio_console", "qemu_fw_cfg"}

// Module is one kernel module file and the modules it needs loaded first.
type Module struct {
	Name    string   // "vmw_pvscsi"
	Path    string   // below the release's module directory: "kernel/drivers/scsi/vmw_pvscsi.ko"
	Depends []string // names, from the module's .modinfo
}

// moduleName is a module's name as the kernel knows it: the file name without ".ko", with '-' read as '_'.
func moduleName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".ko"), "-", "_")
}

// ResolveModules finds the named modules below dir (a release's module directory, lib/modules/<release>)
// and returns them with everything they depend on, each module after its dependencies. A name the kernel
// has built in (modules.builtin) is skipped; one that is neither is an error.
func ResolveModules(dir string, names ...string) ([]Module, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files[moduleName(p)] = filepath.ToSlash(rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kernel modules in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no kernel modules (*.ko) in %s", dir)
	}
	builtin, err := builtinModules(dir)
	if err != nil {
		return nil, err
	}

	var order []Module
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("kernel module %s: a dependency loop through %s", name, from)
		case 2:
			return nil
		}
		rel, ok := files[name]
		if !ok {
			if builtin[name] {
				state[name] = 2
				return nil
			}
			if from != "" {
				return fmt.Errorf("kernel module %s, needed by %s, is not in %s", name, from, dir)
			}
			return fmt.Errorf("kernel module %s is neither in %s nor built in", name, dir)
		}
		state[name] = 1
		deps, err := moduleDepends(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, Module{Name: name, Path: rel, Depends: deps})
		return nil
	}
	for _, n := range names {
		if err := visit(moduleName(n), ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section: the modules whose symbols it
// uses, as depmod would record them.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("kernel module %s has no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("kernel module %s: .modinfo: %w", path, err)
	}
	var deps []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		v, ok := bytes.CutPrefix(kv, []byte("depends="))
		if !ok {
			continue
		}
		for _, d := range strings.Split(string(v), ",") {
			if d = strings.TrimSpace(d); d != "" {
				deps = append(deps, moduleName(d))
			}
		}
	}
	sort.Strings(deps)
	return deps, nil
}

// builtinModules reads modules.builtin ("kernel/fs/ext4/ext4.ko" per line): the modules compiled into the
// kernel, which need no file.
func builtinModules(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	f, err := os.Open(filepath.Join(dir, "modules.builtin"))
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out[moduleName(line)] = true
		}
	}
	return out, sc.Err()
}
