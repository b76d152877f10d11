package initramfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/u-root/u-root/pkg/cpio"

	vinit "github.com/vice-engine/vice/installer/initramfs/init"
)

// Spec is what goes into an initramfs.
type Spec struct {
	// Init is the local path of the static init program, placed at /init. Required.
	Init string
	// ModulesDir is a kernel release's module directory (lib/modules/<release> of an unpacked kernel
	// package); Modules are looked up there, with their dependencies. Both empty: no modules.
	ModulesDir string
	Modules    []string
}

// dirs are made in every initramfs: the kernel mounts nothing, so /init mounts these itself.
var dirs = []string{"dev", "proc", "sys", "run", "tmp", "etc", "etc/vice", "cdrom", "root", "lib", "lib/modules"}

// Write writes the initramfs of spec to w, gzip-compressed.
func Write(ctx context.Context, w io.Writer, spec Spec) error {
	if spec.Init == "" {
		return errors.New("initramfs: the init program is required")
	}
	var mods []Module
	release := ""
	if len(spec.Modules) > 0 {
		if spec.ModulesDir == "" {
			return errors.New("initramfs: modules asked for without a module directory")
		}
		var err error
		if mods, err = ResolveModules(spec.ModulesDir, spec.Modules...); err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		release = filepath.Base(filepath.Clean(spec.ModulesDir))
	}

	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	a := &archive{w: cpio.Newc.Writer(zw)}
	for _, d := range dirs {
		a.add(cpio.Directory(d, 0o755))
	}
	a.add(cpio.Directory("tmp", 0o1777))
	// The kernel opens /dev/console for /init's stdio before anything is mounted.
	a.add(cpio.CharDev("dev/console", 0o600, 5, 1))
	a.file("init", spec.Init, 0o755)

	var list strings.Builder
	if release != "" {
		base := path.Join("lib/modules", release)
		made := map[string]bool{"lib": true, "lib/modules": true}
		for _, m := range mods {
			dst := path.Join(base, m.Path)
			for _, d := range parents(dst) {
				if !made[d] {
					made[d] = true
					a.add(cpio.Directory(d, 0o755))
				}
			}
			a.file(dst, filepath.Join(spec.ModulesDir, filepath.FromSlash(m.Path)), 0o644)
			list.WriteString("/" + dst + "\n")
		}
	}
	a.add(cpio.StaticFile(strings.TrimPrefix(vinit.ModuleList, "/"), list.String(), 0o644))
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.err == nil {
		a.err = cpio.WriteTrailer(a.w)
	}
	if a.err != nil {
		return fmt.Errorf("initramfs: %w", a.err)
	}
	return zw.Close()
}

// Build writes the initramfs of spec to outPath, through a temporary file renamed into place.
func Build(ctx context.Context, outPath string, spec Spec) error {
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".initramfs-*")
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := Write(ctx, tmp, spec); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return os.Rename(tmp.Name(), outPath)
}

// archive writes records until the first error, numbering their inodes (the kernel's unpacker takes
// records with one inode number for hard links of each other).
type archive struct {
	w   cpio.RecordWriter
	ino uint64
	err error
}

func (a *archive) add(r cpio.Record) {
	if a.err != nil {
		return
	}
	a.ino++
	r.Ino, r.NLink = a.ino, 1
	if r.Mode&cpio.S_IFMT == cpio.S_IFDIR {
		r.NLink = 2
	}
	a.err = a.w.WriteRecord(r)
}

// file adds the local file src at dst.
func (a *archive) file(dst, src string, perm uint64) {
	if a.err != nil {
		return
	}
	data, err := os.ReadFile(src)
	if err != nil {
		a.err = err
		return
	}
	a.add(cpio.StaticRecord(data, cpio.Info{Name: dst, Mode: cpio.S_IFREG | perm}))
}

// parents are the directories above p, outermost first: "a/b/c.ko" gives "a", "a/b".
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out
}
