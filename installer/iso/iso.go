package iso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"

	vinit "github.com/vice-engine/vice/installer/initramfs/init"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Paths inside the images.
const (
	TetherPath  = "/tether"
	VersionPath = "/VERSION"

	InitPath   = "/" + vchwire.ApplianceInit
	EnginePath = "/bin/vice-engine"
	PluginsDir = "/plugins"

	KernelPath      = "/boot/vmlinuz"
	InitrdPath      = "/boot/initrd.img"
	IsolinuxDir     = "/isolinux"
	IsolinuxBinPath = IsolinuxDir + "/isolinux.bin"
	IsolinuxCfgPath = IsolinuxDir + "/isolinux.cfg"
	BootCatalogPath = IsolinuxDir + "/boot.cat"
)

const (
	blockSize         = 2048
	bootstrapVolumeID = "VICE-BOOTSTRAP"
	applianceVolumeID = "VICE-APPLIANCE"

	// BootstrapKernelArgs make a containerVM's third serial port, tether.debug, the console: the first is
	// the line to the VCH and the second the container's output (tether/wire's order).
	BootstrapKernelArgs = "console=ttyS2 quiet"
	// ApplianceKernelArgs make the endpoint VM's serial port, appliance.log, the console.
	ApplianceKernelArgs = "console=ttyS0 quiet"
)

type options struct {
	version    string
	kernel     string
	initrd     string
	isolinux   string
	modules    []string
	kernelArgs string
}

// Option adjusts BuildBootstrap and BuildAppliance.
type Option func(*options)

// WithVersion sets the contents of /VERSION (default "dev").
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithKernel adds a Linux kernel and its initramfs, as /boot/vmlinuz and /boot/initrd.img; initrd may be
// empty.
func WithKernel(kernel, initrd string) Option {
	return func(o *options) { o.kernel, o.initrd = kernel, initrd }
}

// WithIsolinux makes the image El Torito bootable (BIOS, no emulation) with the isolinux.bin at path,
// loading the kernel that WithKernel adds. modules are copied beside it (syslinux 5 and later need
// ldlinux.c32 there).
func WithIsolinux(path string, modules ...string) Option {
	return func(o *options) { o.isolinux, o.modules = path, modules }
}

// WithKernelArgs replaces the image's kernel arguments (BootstrapKernelArgs or ApplianceKernelArgs) on the
// command line isolinux.cfg gives; "" keeps them. The argument that tells /init which image booted
// (initramfs/init's BootArg) is always added.
func WithKernelArgs(args string) Option { return func(o *options) { o.kernelArgs = args } }

// BuildBootstrap writes bootstrap.iso to outPath with the tether binary at tetherPath as /tether (mode
// 0755). The image is assembled in a scratch directory and renamed into place, so outPath is never left
// half-written.
func BuildBootstrap(ctx context.Context, tetherPath, outPath string, opts ...Option) error {
	files := []entry{{src: tetherPath, dst: TetherPath, mode: 0o755}}
	img := image{volumeID: bootstrapVolumeID, role: vinit.BootTether, kernelArgs: BootstrapKernelArgs}
	if err := build(ctx, files, outPath, img, opts); err != nil {
		return fmt.Errorf("bootstrap iso: %w", err)
	}
	return nil
}

// ApplianceFiles are the local binaries of appliance.iso.
type ApplianceFiles struct {
	Init    string   // vice-appliance, the image's /init
	Engine  string   // vice-engine, /bin/vice-engine
	Plugins []string // backend plugins, each /plugins/<its file name>
}

// BuildAppliance writes appliance.iso to outPath, as BuildBootstrap writes bootstrap.iso.
func BuildAppliance(ctx context.Context, f ApplianceFiles, outPath string, opts ...Option) error {
	if f.Init == "" || f.Engine == "" {
		return errors.New("appliance iso: the init and vice-engine are required")
	}
	files := []entry{{src: f.Init, dst: InitPath, mode: 0o755}, {src: f.Engine, dst: EnginePath, mode: 0o755}}
	seen := map[string]bool{}
	for _, p := range f.Plugins {
		name := filepath.Base(p)
		if seen[name] {
			return fmt.Errorf("appliance iso: two plugins named %s", name)
		}
		seen[name] = true
		files = append(files, entry{src: p, dst: path.Join(PluginsDir, name), mode: 0o755})
	}
	img := image{volumeID: applianceVolumeID, role: vinit.BootAppliance, kernelArgs: ApplianceKernelArgs}
	if err := build(ctx, files, outPath, img, opts); err != nil {
		return fmt.Errorf("appliance iso: %w", err)
	}
	return nil
}

// entry is one file of an image: the local file src at the image path dst.
type entry struct {
	src, dst string
	mode     os.FileMode
	data     []byte // instead of src
}

// image is what tells the two images apart: their volume ID, what /init boots, and the kernel's console.
type image struct {
	volumeID, role, kernelArgs string
}

// build assembles the image: go-diskfs makes it from a workspace directory whose files and modes it copies
// as they are.
func build(ctx context.Context, files []entry, outPath string, img image, opts []Option) error {
	o := options{version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.kernelArgs == "" {
		o.kernelArgs = img.kernelArgs
	}
	o.kernelArgs = strings.TrimSpace(o.kernelArgs + " " + vinit.BootArg + "=" + img.role)
	volumeID := img.volumeID
	files = append(files, entry{dst: VersionPath, mode: 0o644, data: []byte(o.version + "\n")})
	boot, err := o.bootFiles()
	if err != nil {
		return err
	}
	files = append(files, boot...)

	work, err := os.MkdirTemp("", "vice-iso")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, e := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(work, filepath.FromSlash(strings.TrimPrefix(e.dst, "/")))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if e.data != nil {
			err = writeFile(dst, e.data, e.mode)
		} else {
			err = copyFile(e.src, dst, e.mode)
		}
		if err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	tmp := outPath + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	defer out.Close()
	fsys, err := iso9660.Create(file.New(out, false), 0, 0, blockSize, work)
	if err != nil {
		return err
	}
	fo := iso9660.FinalizeOptions{RockRidge: true, VolumeIdentifier: volumeID}
	if o.isolinux != "" {
		entry := &iso9660.ElToritoEntry{
			Platform: iso9660.BIOS, Emulation: iso9660.NoEmulation, BootFile: IsolinuxBinPath, BootTable: true,
		}
		entry.SetLoadSize(4) // isolinux loads the rest of itself
		fo.ElTorito = &iso9660.ElTorito{BootCatalog: BootCatalogPath, HideBootCatalog: true,
			Entries: []*iso9660.ElToritoEntry{entry}}
	}
	if err := fsys.Finalize(fo); err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Rename(tmp, outPath)
}

// bootFiles are the kernel, initramfs, isolinux and its configuration the options ask for.
func (o options) bootFiles() ([]entry, error) {
	var files []entry
	if o.kernel != "" {
		files = append(files, entry{src: o.kernel, dst: KernelPath, mode: 0o644})
	}
	if o.initrd != "" {
		if o.kernel == "" {
			return nil, errors.New("an initramfs needs a kernel")
		}
		files = append(files, entry{src: o.initrd, dst: InitrdPath, mode: 0o644})
	}
	if o.isolinux == "" {
		if len(o.modules) > 0 {
			return nil, errors.New("isolinux modules need isolinux.bin")
		}
		return files, nil
	}
	if o.kernel == "" {
		return nil, errors.New("a bootable image needs a kernel")
	}
	files = append(files, entry{src: o.isolinux, dst: IsolinuxBinPath, mode: 0o644},
		entry{dst: IsolinuxCfgPath, mode: 0o644, data: []byte(isolinuxCfg(o.initrd != "", o.kernelArgs))})
	for _, m := range o.modules {
		files = append(files, entry{src: m, dst: path.Join(IsolinuxDir, filepath.Base(m)), mode: 0o644})
	}
	return files, nil
}

// isolinuxCfg boots the image's kernel at once.
func isolinuxCfg(initrd bool, args string) string {
	var b strings.Builder
	b.WriteString("DEFAULT vice\nPROMPT 0\nTIMEOUT 0\n\nLABEL vice\n  KERNEL " + KernelPath + "\n")
	if initrd {
		b.WriteString("  INITRD " + InitrdPath + "\n")
	}
	if args != "" {
		b.WriteString("  APPEND " + args + "\n")
	}
	return b.String()
}

func writeFile(dst string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// The umask may have narrowed the mode at creation.
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
