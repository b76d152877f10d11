package backendtest

import (
	"archive/tar"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/storage"
)

// writeBusybox writes the containers' image as one base layer through the port layer, as core writes a
// pulled image: a static busybox with a link per applet, /etc/passwd and /etc/group, and the directories a
// root filesystem has. The layer is removed when t ends (after the containers that are its children).
func (s *suite) writeBusybox(t *testing.T) {
	t.Helper()
	bin, err := os.ReadFile(s.opts.busybox)
	if err != nil {
		t.Skipf("the containers' image is a static busybox (Debian's busybox-static, make busybox): %v", err)
	}
	list, err := exec.Command(s.opts.busybox, "--list").Output()
	if err != nil {
		t.Fatalf("%s --list: %v", s.opts.busybox, err)
	}
	entries := []tarEntry{
		{typ: tar.TypeDir, name: "bin/", mode: 0o755},
		{typ: tar.TypeReg, name: "bin/busybox", mode: 0o755, body: string(bin)},
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			entries = append(entries, tarEntry{typ: tar.TypeSymlink, name: "bin/" + applet, mode: 0o777, link: "busybox"})
		}
	}
	for _, d := range []struct {
		name string
		mode int64
	}{{"dev/", 0o755}, {"proc/", 0o555}, {"sys/", 0o555}, {"root/", 0o700}, {"tmp/", 0o1777}, {"etc/", 0o755}} {
		entries = append(entries, tarEntry{typ: tar.TypeDir, name: d.name, mode: d.mode})
	}
	entries = append(entries,
		tarEntry{typ: tar.TypeReg, name: "etc/passwd", mode: 0o644,
			body: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		tarEntry{typ: tar.TypeReg, name: "etc/group", mode: 0o644, body: "root:x:0:\nnogroup:x:65534:\n"},
	)
	s.layer = newID()
	writeLayer(t, s.pl, s.layer, "", "gzip", gzipBytes(t, tarOf(t, entries)))
	t.Cleanup(func() {
		if _, err := s.pl.Storage.RemoveLayer(storage.NewRemoveLayerParamsWithContext(ctx(t)).WithID(s.layer)); err != nil {
			t.Errorf("remove the busybox layer: %v", err)
		}
	})
}
