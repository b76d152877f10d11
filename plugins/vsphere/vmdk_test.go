package vsphere

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// esxChild is a child disk's descriptor as ESXi writes it.
const esxChild = `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=8a3c9b1d
isNativeSnapshot="no"
createType="vmfsSparse"
parentFileNameHint="../base/base.vmdk"
# Extent description
RW 16777216 VMFSSPARSE "child-delta.vmdk"

# The Disk Data Base
#DDB

ddb.longContentID = "5bd1fb9f05a1f4d9de6a3dc8fffffffe"
ddb.deletable = "true"
`

func TestReadDescriptor(t *testing.T) {
	d, err := ReadDescriptor(strings.NewReader(esxChild))
	if err != nil {
		t.Fatal(err)
	}
	if d.CID != 0xfffffffe || d.ParentCID != 0x8a3c9b1d || d.CreateType != "vmfsSparse" ||
		d.ParentFileNameHint != "../base/base.vmdk" || d.DDB["deletable"] != "true" {
		t.Errorf("parsed %+v", d)
	}
	if len(d.Extents) != 1 || d.Extents[0] != (Extent{"RW", 16777216, "VMFSSPARSE", "child-delta.vmdk"}) {
		t.Errorf("extents %+v", d.Extents)
	}

	// What WriteTo writes reads back the same.
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDescriptor(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.CID != d.CID || back.ParentCID != d.ParentCID || back.ParentFileNameHint != d.ParentFileNameHint ||
		back.Extents[0] != d.Extents[0] || back.DDB["longContentID"] != d.DDB["longContentID"] {
		t.Errorf("round trip: %+v, want %+v", back, d)
	}

	for _, bad := range []string{"", "hello world", "CID=xyz\nRW 1 VMFS \"a\"", "CID=1\n"} {
		if _, err := ReadDescriptor(strings.NewReader(bad)); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("ReadDescriptor(%q): %v, want invalid", bad, err)
		}
	}
}

func TestChainFollowsHints(t *testing.T) {
	root := t.TempDir()
	write := func(id, parent string, parentCID uint32) string {
		d := &Descriptor{Version: 1, Encoding: "UTF-8", CID: 1, ParentCID: parentCID, CreateType: "vmfs",
			Extents: []Extent{{"RW", 8, "VMFS", id + "-flat.vmdk"}}}
		if parent != "" {
			d.ParentFileNameHint = "../" + parent + "/" + parent + ".vmdk"
		}
		p := filepath.Join(root, id, id+".vmdk")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = d.WriteTo(&buf)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(ScratchID, "", NoParentCID)
	write("a", ScratchID, 1)
	top := write("b", "a", 1)
	dirs, err := LowerDirs(top)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, "b", "rootfs"), filepath.Join(root, "a", "rootfs"), filepath.Join(root, ScratchID, "rootfs")}
	if strings.Join(dirs, ":") != strings.Join(want, ":") {
		t.Errorf("LowerDirs = %v, want %v", dirs, want)
	}

	// A loop is refused, not followed forever.
	write("x", "y", 1)
	loop := write("y", "x", 1)
	if _, err := Chain(loop); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("Chain of a loop: %v", err)
	}
	if _, err := Chain(filepath.Join(root, "missing", "missing.vmdk")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Chain of a missing disk: %v", err)
	}
}
