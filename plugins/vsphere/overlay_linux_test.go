package vsphere

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLayerChainMountsWithOverlayfs stacks a written chain the way the hypervisor emulator will (lowerdir =
// LowerDirs of the top layer) and checks that the result is the image's filesystem.
func TestLayerChainMountsWithOverlayfs(t *testing.T) {
	ls := newLayerStore(t)
	base, child := randomID(), randomID()
	ls.write(t, base, "", "none", buildTar(t, baseEntries()...))
	ls.write(t, child, base, "gzip", gzipped(t, buildTar(t, childEntries()...)))

	lower, err := LowerDirs(ls.descriptor(child))
	if err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(t.TempDir(), "merged")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	err = unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lower, ":"))
	if errors.Is(err, unix.EPERM) {
		t.Skipf("mount overlayfs: %v", err)
	}
	if err != nil {
		t.Fatalf("mount overlayfs with lowerdir=%s: %v", strings.Join(lower, ":"), err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})

	if _, err := os.Lstat(filepath.Join(mnt, "gone.txt")); !os.IsNotExist(err) {
		t.Errorf("the whited-out gone.txt is visible: %v", err)
	}
	if names := dirNames(t, filepath.Join(mnt, "opq")); len(names) != 1 || names[0] != "new.txt" {
		t.Errorf("the opaque opq/ shows %v, want only new.txt", names)
	}
	for p, want := range map[string]string{"etc/hostname": "vice\n", "bin/tool": "#!/bin/sh\necho tool\n",
		"etc/passwd": "root:x:0:0::/root:/bin/sh\n"} {
		if got, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v", p, got, err)
		}
	}
	if st := lstat(t, filepath.Join(mnt, "bin/tool")); st.Mode != unix.S_IFREG|0o4755 || st.Uid != 1000 {
		t.Errorf("bin/tool through the overlay: mode %o uid %d", st.Mode, st.Uid)
	}
	if target, err := os.Readlink(filepath.Join(mnt, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
}
