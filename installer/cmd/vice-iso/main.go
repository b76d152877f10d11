// Command vice-iso builds bootstrap.iso from a static tether binary (make bootstrap-iso runs it), or with
// -appliance, appliance.iso from vice-appliance, vice-engine and the backend plugins:
//
//	vice-iso -tether bin/tether -o bin/bootstrap.iso -version X
//	vice-iso -appliance -init bin/vice-appliance -engine bin/vice-engine \
//	    -plugin bin/vice-plugin-vcsim -plugin bin/vice-plugin-vsphere -o bin/appliance.iso -version X
//
// Either takes -kernel and -initrd (placed at /boot), and -isolinux to make the image bootable. With
// -kernel-package (an unpacked Debian kernel package) and -boot-init (vice-init), it takes the kernel from the
// package and builds the initramfs itself, with the modules VMware's and QEMU's virtual hardware need:
//
//	vice-iso -tether bin/tether -kernel-package DIR -boot-init bin/vice-init \
//	    -isolinux .../isolinux.bin -isolinux-module .../ldlinux.c32 -o bin/bootstrap.iso
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vice-engine/vice/installer/initramfs"
	"github.com/vice-engine/vice/installer/iso"
)

// list collects a repeated flag.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }

func (l *list) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("vice-iso", flag.ContinueOnError)
	fs.SetOutput(stderr)
	appliance := fs.Bool("appliance", false, "build appliance.iso (the VCH endpoint) instead of bootstrap.iso")
	tether := fs.String("tether", "bin/tether", "bootstrap.iso: the static tether binary")
	initBin := fs.String("init", "bin/vice-appliance", "appliance.iso: the appliance's init (vice-appliance)")
	engine := fs.String("engine", "bin/vice-engine", "appliance.iso: vice-engine")
	var plugins, modules list
	fs.Var(&plugins, "plugin", "appliance.iso: a backend plugin binary, placed in /plugins (repeatable)")
	out := fs.String("o", "", "where to write the image (default bin/bootstrap.iso or bin/appliance.iso)")
	version := fs.String("version", "dev", "contents of /VERSION")
	kernel := fs.String("kernel", "", "a Linux kernel, placed at "+iso.KernelPath)
	initrd := fs.String("initrd", "", "an initramfs, placed at "+iso.InitrdPath+" (needs -kernel)")
	isolinux := fs.String("isolinux", "", "isolinux.bin: makes the image El Torito bootable (needs -kernel)")
	fs.Var(&modules, "isolinux-module", "a file placed beside isolinux.bin, such as ldlinux.c32 (repeatable)")
	kernelArgs := fs.String("kernel-args", "", "the kernel command line isolinux gives (default: the image's console)")
	kernelPackage := fs.String("kernel-package", "", "an unpacked Debian kernel package: its kernel, and the modules of the initramfs")
	bootInit := fs.String("boot-init", "", "the static /init of the initramfs built from -kernel-package (vice-init)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "vice-iso: unexpected arguments:", fs.Args())
		return 2
	}
	opts := []iso.Option{iso.WithVersion(*version), iso.WithKernelArgs(*kernelArgs)}
	if *kernelPackage != "" || *bootInit != "" {
		if *kernel != "" || *initrd != "" || *kernelPackage == "" || *bootInit == "" {
			fmt.Fprintln(stderr, "vice-iso: -kernel-package and -boot-init go together, without -kernel and -initrd")
			return 2
		}
		k, rd, cleanup, err := initramfsFromPackage(*kernelPackage, *bootInit)
		if err != nil {
			fmt.Fprintln(stderr, "vice-iso:", err)
			return 1
		}
		defer cleanup()
		*kernel, *initrd = k, rd
	}
	if *kernel != "" || *initrd != "" {
		opts = append(opts, iso.WithKernel(*kernel, *initrd))
	}
	if *isolinux != "" || len(modules) > 0 {
		opts = append(opts, iso.WithIsolinux(*isolinux, modules...))
	}
	var err error
	if *appliance {
		if *out == "" {
			*out = "bin/appliance.iso"
		}
		err = iso.BuildAppliance(context.Background(),
			iso.ApplianceFiles{Init: *initBin, Engine: *engine, Plugins: plugins}, *out, opts...)
	} else {
		if *out == "" {
			*out = "bin/bootstrap.iso"
		}
		err = iso.BuildBootstrap(context.Background(), *tether, *out, opts...)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vice-iso:", err)
		return 1
	}
	return 0
}

// initramfsFromPackage builds the initramfs for the kernel of the unpacked package root, with init as its
// /init, in a temporary file; it returns the kernel image, the initramfs and what removes the latter.
func initramfsFromPackage(root, init string) (string, string, func(), error) {
	k, err := initramfs.FindKernel(root)
	if err != nil {
		return "", "", nil, err
	}
	dir, err := os.MkdirTemp("", "vice-initramfs-")
	if err != nil {
		return "", "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	out := filepath.Join(dir, "initrd.img")
	spec := initramfs.Spec{Init: init, ModulesDir: k.ModulesDir,
		Modules: append(append([]string{}, initramfs.VMwareModules...), initramfs.QEMUModules...)}
	if err := initramfs.Build(context.Background(), out, spec); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return k.Image, out, cleanup, nil
}
