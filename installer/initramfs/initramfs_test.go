package initramfs_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/u-root/u-root/pkg/cpio"

	"github.com/vice-engine/vice/installer/initramfs"
	vinit "github.com/vice-engine/vice/installer/initramfs/init"
)

// writeModule writes a minimal relocatable ELF file at dir/rel whose .modinfo section says what the module
// depends on, as a kernel module's does.
func writeModule(t *testing.T, dir, rel string, depends ...string) {
	t.Helper()
	modinfo := []byte("license=GPL\x00depends=" + strings.Join(depends, ",") + "\x00vermagic=test\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	modOff := ehsize
	strOff := modOff + len(modinfo)
	shOff := (strOff + len(shstr) + 7) &^ 7
	b := make([]byte, shOff+3*shentsize)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // 64-bit, little-endian, version 1
	le := binary.LittleEndian
	le.PutUint16(b[16:], 1)  // ET_REL
	le.PutUint16(b[18:], 62) // x86-64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[40:], uint64(shOff))
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[58:], shentsize)
	le.PutUint16(b[60:], 3) // sections: null, .modinfo, .shstrtab
	le.PutUint16(b[62:], 2) // .shstrtab's index
	copy(b[modOff:], modinfo)
	copy(b[strOff:], shstr)
	section := func(i int, name, typ uint32, off, size int) {
		s := b[shOff+i*shentsize:]
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], typ)
		le.PutUint64(s[24:], uint64(off))
		le.PutUint64(s[32:], uint64(size))
		le.PutUint64(s[48:], 1)
	}
	section(1, 1, 1, modOff, len(modinfo)) // PROGBITS
	section(2, 10, 3, strOff, len(shstr))  // STRTAB
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// kernelTree is an unpacked kernel package with a few modules: pvscsi needs scsi_mod, sr_mod needs cdrom and
// scsi_mod, crc32c-intel has a dash in its file name, ext4 is built in.
func kernelTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mods := filepath.Join(root, "lib", "modules", "6.1.0-test")
	writeModule(t, mods, "kernel/drivers/scsi/scsi_mod.ko", "scsi_common")
	writeModule(t, mods, "kernel/drivers/scsi/scsi_common.ko")
	writeModule(t, mods, "kernel/drivers/scsi/vmw_pvscsi.ko", "scsi_mod")
	writeModule(t, mods, "kernel/drivers/scsi/sr_mod.ko", "scsi_mod", "cdrom")
	writeModule(t, mods, "kernel/drivers/cdrom/cdrom.ko")
	writeModule(t, mods, "kernel/arch/x86/crypto/crc32c-intel.ko")
	writeModule(t, mods, "kernel/drivers/net/broken.ko", "missing")
	if err := os.WriteFile(filepath.Join(mods, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "boot"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "boot", "vmlinuz-6.1.0-test"), []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestResolveModules(t *testing.T) {
	root := kernelTree(t)
	k, err := initramfs.FindKernel(root)
	if err != nil {
		t.Fatal(err)
	}
	if k.Release != "6.1.0-test" || filepath.Base(k.Image) != "vmlinuz-6.1.0-test" {
		t.Fatalf("kernel %+v", k)
	}
	mods, err := initramfs.ResolveModules(k.ModulesDir, "vmw_pvscsi", "sr_mod", "ext4", "crc32c_intel")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
	}
	want := "scsi_common scsi_mod vmw_pvscsi cdrom sr_mod crc32c_intel"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("load order %q, want %q", got, want)
	}
	if mods[5].Path != "kernel/arch/x86/crypto/crc32c-intel.ko" {
		t.Errorf("path %q", mods[5].Path)
	}
	for name, build := range map[string][]string{
		"unknown module":     {"nope"},
		"missing dependency": {"broken"},
	} {
		if _, err := initramfs.ResolveModules(k.ModulesDir, build...); err == nil {
			t.Errorf("%s: resolved", name)
		}
	}
}

func TestWrite(t *testing.T) {
	root := kernelTree(t)
	k, err := initramfs.FindKernel(root)
	if err != nil {
		t.Fatal(err)
	}
	init := filepath.Join(t.TempDir(), "vice-init")
	if err := os.WriteFile(init, []byte("\x7fELF init"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "initrd.img")
	spec := initramfs.Spec{Init: init, ModulesDir: k.ModulesDir, Modules: []string{"vmw_pvscsi", "sr_mod"}}
	if err := initramfs.Build(context.Background(), out, spec); err != nil {
		t.Fatal(err)
	}
	recs := readArchive(t, out)
	if r, ok := recs["init"]; !ok || r.Mode != cpio.S_IFREG|0o755 || string(content(t, r)) != "\x7fELF init" {
		t.Errorf("init: %+v", r.Info)
	}
	if r, ok := recs["dev/console"]; !ok || r.Mode&cpio.S_IFMT != cpio.S_IFCHR || r.Rmajor != 5 || r.Rminor != 1 {
		t.Errorf("dev/console: %+v", r.Info)
	}
	list := string(content(t, recs[strings.TrimPrefix(vinit.ModuleList, "/")]))
	var want strings.Builder
	for _, m := range []string{"drivers/scsi/scsi_common", "drivers/scsi/scsi_mod", "drivers/scsi/vmw_pvscsi",
		"drivers/cdrom/cdrom", "drivers/scsi/sr_mod"} {
		want.WriteString("/lib/modules/6.1.0-test/kernel/" + m + ".ko\n")
	}
	if list != want.String() {
		t.Errorf("module list:\n%s\nwant:\n%s", list, want.String())
	}
	for _, line := range strings.Fields(list) {
		r, ok := recs[strings.TrimPrefix(line, "/")]
		if !ok || r.Mode != cpio.S_IFREG|0o644 {
			t.Errorf("%s missing from the archive", line)
		}
		if _, ok := recs[strings.TrimPrefix(filepath.Dir(line), "/")]; !ok {
			t.Errorf("no directory record for %s", line)
		}
	}
	if _, ok := recs["lib/modules/6.1.0-test/kernel/drivers/net/broken.ko"]; ok {
		t.Error("a module nobody asked for is in the archive")
	}

	// No init, or modules without their directory: nothing is written.
	bad := filepath.Join(t.TempDir(), "bad.img")
	for _, s := range []initramfs.Spec{{ModulesDir: k.ModulesDir}, {Init: init, Modules: []string{"sr_mod"}}} {
		if err := initramfs.Build(context.Background(), bad, s); err == nil {
			t.Errorf("%+v: built", s)
		}
		if _, err := os.Stat(bad); !os.IsNotExist(err) {
			t.Errorf("%+v: image written", s)
		}
	}
}

func readArchive(t *testing.T, p string) map[string]cpio.Record {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cpio.Record{}
	for _, r := range recs {
		if _, dup := out[r.Name]; dup {
			t.Errorf("%s twice in the archive", r.Name)
		}
		out[r.Name] = r
	}
	return out
}

func content(t *testing.T, r cpio.Record) []byte {
	t.Helper()
	if r.ReaderAt == nil {
		return nil
	}
	b := make([]byte, r.FileSize)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}
