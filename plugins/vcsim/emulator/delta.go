package emulator

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The simulator makes every new disk a flat one (a descriptor and an empty extent file), also when the
// device that asks for it names a parent; ESXi makes such a disk a delta disk, sparse, whose descriptor
// names its parent. realizeDisk makes the simulator's disk what ESXi would have made, so that the chain is
// real: QEMU's vmdk driver (the emulator's storage daemon, and QEMU booting a containerVM) reads through it.

// extentLine is `RW 16777216 VMFS "x-flat.vmdk"`.
type extentLine struct {
	sectors int64
	kind    string
	file    string
}

// readDescriptorFile reads the extents and the parent hint of a VMDK descriptor.
func readDescriptorFile(desc string) (extents []extentLine, parentHint string, err error) {
	f, err := os.Open(desc)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		line := strings.TrimSpace(strings.Trim(sc.Text(), "\x00"))
		fields := strings.Fields(line)
		if len(fields) >= 4 && (fields[0] == "RW" || fields[0] == "RDONLY" || fields[0] == "NOACCESS") {
			n, err := strconv.ParseInt(fields[1], 10, 64)
			q, e := strings.Index(line, `"`), strings.LastIndex(line, `"`)
			if err == nil && q >= 0 && e > q {
				extents = append(extents, extentLine{sectors: n, kind: fields[2], file: line[q+1 : e]})
			}
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && strings.EqualFold(strings.TrimSpace(k), "parentFileNameHint") {
			parentHint = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return extents, parentHint, sc.Err()
}

// realizeDisk prepares the disk desc for its first use as a block device: a child of parent (a local
// descriptor path; "" for none) that is still the simulator's flat disk becomes a sparse delta of it; a flat
// disk's extents get the size its descriptor says, so that they read as zeros to the end. A disk done before
// is left as it is.
func realizeDisk(ctx context.Context, desc, parent string) error {
	extents, hint, err := readDescriptorFile(desc)
	if err != nil {
		return fmt.Errorf("disk %s: %w", desc, err)
	}
	if hint != "" || len(extents) == 0 {
		return nil
	}
	dir := filepath.Dir(desc)
	if parent == "" {
		for _, x := range extents {
			if x.kind != "VMFS" && x.kind != "FLAT" {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(x.file))
			st, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("disk %s: %w", desc, err)
			}
			if want := x.sectors * 512; st.Size() < want {
				if err := os.Truncate(p, want); err != nil {
					return fmt.Errorf("disk %s: %w", desc, err)
				}
			}
		}
		return nil
	}
	// Only a disk nothing was written to yet is replaced.
	for _, x := range extents {
		p := filepath.Join(dir, filepath.FromSlash(x.file))
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			return fmt.Errorf("disk %s names parent %s but holds data already", desc, parent)
		}
	}
	rel, err := filepath.Rel(dir, parent)
	if err != nil {
		return err
	}
	parentCID, err := descriptorCID(parent)
	if err != nil {
		return fmt.Errorf("parent of %s: %w", desc, err)
	}
	var sectors int64
	for _, x := range extents {
		sectors += x.sectors
	}
	// One hosted sparse extent for the whole disk, as ESXi's delta disks have one: QEMU (7.2) copies a
	// partly written grain's rest from the wrong place of the parent in any extent but the first.
	name := strings.TrimSuffix(filepath.Base(desc), ".vmdk") + "-delta.vmdk"
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicSparse",
		filepath.Join(dir, name), strconv.FormatInt(sectors*512, 10)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("make the delta extent of %s: %v: %s", desc, err, strings.TrimSpace(string(out)))
	}
	var cid [4]byte
	_, _ = rand.Read(cid[:])
	text := fmt.Sprintf("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=%08x\nparentCID=%s\n"+
		"createType=\"twoGbMaxExtentSparse\"\nparentFileNameHint=%q\n\n# Extent description\nRW %d SPARSE %q\n\n"+
		"# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n",
		binary.BigEndian.Uint32(cid[:]), parentCID, filepath.ToSlash(rel), sectors, name)
	if err := writeFileAtomic(desc, []byte(text)); err != nil {
		return fmt.Errorf("make %s a delta disk of %s: %w", desc, parent, err)
	}
	var errs []error
	for _, x := range extents {
		if x.file == name {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(x.file))); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// descriptorCID is the CID line's value of a descriptor ("fffffffe"), which a child records as its parentCID.
func descriptorCID(desc string) (string, error) {
	f, err := os.Open(desc)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "CID") {
			return strings.Trim(strings.TrimSpace(v), `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s has no CID", desc)
}

// writeFileAtomic replaces name with data through a temporary file in its folder.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".vmdk-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
