package iso_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vinit "github.com/vice-engine/vice/installer/initramfs/init"
	"github.com/vice-engine/vice/installer/iso"
	"github.com/vice-engine/vice/installer/vchwire"
)

// writeBins writes fake binaries into dir and returns their paths by name.
func writeBins(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for i, n := range names {
		p := filepath.Join(dir, n)
		// Distinct contents, some larger than a block.
		if err := os.WriteFile(p, bytes.Repeat([]byte(n+"\n"), 1+i*700), 0o600); err != nil {
			t.Fatal(err)
		}
		paths[n] = p
	}
	return paths
}

func sum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestApplianceRoundTrip(t *testing.T) {
	dir := t.TempDir()
	bins := writeBins(t, dir, "vice-appliance", "vice-engine", "vice-plugin-vcsim", "vice-plugin-vsphere")
	out := filepath.Join(dir, vchwire.ApplianceISO)
	err := iso.BuildAppliance(context.Background(), iso.ApplianceFiles{
		Init: bins["vice-appliance"], Engine: bins["vice-engine"],
		Plugins: []string{bins["vice-plugin-vsphere"], bins["vice-plugin-vcsim"]},
	}, out, iso.WithVersion("v2.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		iso.InitPath: bins["vice-appliance"], iso.EnginePath: bins["vice-engine"],
		"/plugins/vice-plugin-vcsim": bins["vice-plugin-vcsim"],
	} {
		got, err := iso.ReadFile(out, name)
		want, _ := os.ReadFile(src)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, len(want))
		}
		if fi, err := iso.Stat(out, name); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, %v", name, fi.Mode(), err)
		}
	}
	info, err := iso.ReadAppliance(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "v2.0.0" || len(info.Plugins) != 2 {
		t.Fatalf("info %+v", info)
	}
	for i, name := range []string{"vice-plugin-vcsim", "vice-plugin-vsphere"} {
		p := info.Plugins[i]
		if p.Path != "/plugins/"+name || p.SHA256 != sum(t, bins[name]) {
			t.Errorf("plugin %d: %+v", i, p)
		}
		rec := p.Record()
		if want := strings.TrimPrefix(name, "vice-plugin-"); rec.Name != want || rec.File != p.Path || rec.SHA256 != p.SHA256 {
			t.Errorf("record %+v", rec)
		}
	}
	if v, err := iso.ReadVersion(out); err != nil || v != "v2.0.0" {
		t.Errorf("ReadVersion %q %v", v, err)
	}
	if _, err := iso.Stat(out, iso.KernelPath); err == nil {
		t.Error("a kernel appeared without being asked for")
	}
	if bootable(t, out) {
		t.Error("image is bootable without isolinux")
	}
	// A bootstrap image is not an appliance.
	boot := filepath.Join(dir, "bootstrap.iso")
	if err := iso.BuildBootstrap(context.Background(), bins["vice-engine"], boot); err != nil {
		t.Fatal(err)
	}
	if _, err := iso.ReadAppliance(boot); err == nil {
		t.Error("bootstrap.iso read as an appliance")
	}
}

func TestKernelAndIsolinux(t *testing.T) {
	dir := t.TempDir()
	bins := writeBins(t, dir, "tether", "vmlinuz", "initrd.img", "isolinux.bin", "ldlinux.c32")
	out := filepath.Join(dir, "bootstrap.iso")
	err := iso.BuildBootstrap(context.Background(), bins["tether"], out,
		iso.WithKernel(bins["vmlinuz"], bins["initrd.img"]), iso.WithIsolinux(bins["isolinux.bin"], bins["ldlinux.c32"]))
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		iso.KernelPath: bins["vmlinuz"], iso.InitrdPath: bins["initrd.img"], "/isolinux/ldlinux.c32": bins["ldlinux.c32"],
	} {
		got, err := iso.ReadFile(out, name)
		want, _ := os.ReadFile(src)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d", name, len(got), err, len(want))
		}
	}
	cfg, err := iso.ReadFile(out, iso.IsolinuxCfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"KERNEL /boot/vmlinuz", "INITRD /boot/initrd.img",
		"APPEND " + iso.BootstrapKernelArgs + " " + vinit.BootArg + "=" + vinit.BootTether + "\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("isolinux.cfg lacks %q:\n%s", want, cfg)
		}
	}
	if !bootable(t, out) {
		t.Error("no El Torito boot record")
	}

	// The appliance's kernel has its own console, and the argument names it; other arguments replace the
	// console but keep the role.
	app := filepath.Join(dir, "appliance.iso")
	err = iso.BuildAppliance(context.Background(), iso.ApplianceFiles{Init: bins["tether"], Engine: bins["tether"]}, app,
		iso.WithKernel(bins["vmlinuz"], bins["initrd.img"]), iso.WithIsolinux(bins["isolinux.bin"], bins["ldlinux.c32"]),
		iso.WithKernelArgs("console=ttyS1"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := iso.ReadFile(app, iso.IsolinuxCfgPath); err != nil ||
		!strings.Contains(string(cfg), "APPEND console=ttyS1 "+vinit.BootArg+"="+vinit.BootAppliance+"\n") {
		t.Errorf("appliance isolinux.cfg (%v):\n%s", err, cfg)
	}

	// Kernel only: placed, not bootable.
	out2 := filepath.Join(dir, "kernel.iso")
	if err := iso.BuildBootstrap(context.Background(), bins["tether"], out2, iso.WithKernel(bins["vmlinuz"], "")); err != nil {
		t.Fatal(err)
	}
	if _, err := iso.Stat(out2, iso.KernelPath); err != nil {
		t.Error(err)
	}
	if bootable(t, out2) {
		t.Error("bootable without isolinux")
	}
}

func TestApplianceErrors(t *testing.T) {
	dir := t.TempDir()
	bins := writeBins(t, dir, "init", "engine", "isolinux.bin")
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	dup := writeBins(t, other, "engine")["engine"]
	out := filepath.Join(dir, "a.iso")
	ctx := context.Background()
	for name, build := range map[string]func() error{
		"no engine": func() error { return iso.BuildAppliance(ctx, iso.ApplianceFiles{Init: bins["init"]}, out) },
		"missing plugin": func() error {
			return iso.BuildAppliance(ctx, iso.ApplianceFiles{Init: bins["init"], Engine: bins["engine"],
				Plugins: []string{filepath.Join(dir, "none")}}, out)
		},
		"duplicate plugin": func() error {
			return iso.BuildAppliance(ctx, iso.ApplianceFiles{Init: bins["init"], Engine: bins["engine"],
				Plugins: []string{bins["engine"], dup}}, out)
		},
		"isolinux without kernel": func() error {
			return iso.BuildAppliance(ctx, iso.ApplianceFiles{Init: bins["init"], Engine: bins["engine"]}, out,
				iso.WithIsolinux(bins["isolinux.bin"]))
		},
		"initrd without kernel": func() error {
			return iso.BuildBootstrap(ctx, bins["init"], out, iso.WithKernel("", bins["engine"]))
		},
	} {
		if err := build(); err == nil {
			t.Errorf("%s: built", name)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%s: image written: %v", name, err)
		}
	}
}

// bootable reports whether the image has an El Torito boot record volume descriptor (sector 17).
func bootable(t *testing.T, p string) bool {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 64)
	if _, err := f.ReadAt(b, 17*2048); err != nil {
		t.Fatal(err)
	}
	return b[0] == 0 && string(b[1:6]) == "CD001" && strings.HasPrefix(string(b[7:]), "EL TORITO SPECIFICATION")
}
