package vsphere

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// A VMDK descriptor is the small text file that names a disk's extents and, for a child disk, its parent.
// govmomi's vmdk package neither reads nor writes parentFileNameHint, which is what chains layer disks, so
// the descriptor is written and parsed here.

// NoParentCID is the parentCID of a disk without a parent.
const NoParentCID uint32 = 0xffffffff

// maxDescriptorBytes bounds a descriptor read from the datastore; real ones are well under 1 KiB.
const maxDescriptorBytes = 64 << 10

// Descriptor is a VMDK descriptor file.
type Descriptor struct {
	Version    int
	Encoding   string
	CID        uint32 // content ID; a child records its parent's as ParentCID
	ParentCID  uint32 // NoParentCID for a disk without a parent
	CreateType string // "vmfs", "vmfsSparse", ...
	// ParentFileNameHint is the parent's descriptor, relative to this descriptor's folder (or absolute).
	ParentFileNameHint string
	Extents            []Extent
	DDB                map[string]string // the "ddb.<key>" entries, without the prefix
}

// Extent is one extent line: `RW 16777216 VMFS "disk-flat.vmdk"`.
type Extent struct {
	Access  string // RW, RDONLY or NOACCESS
	Sectors int64  // 512-byte sectors
	Type    string // VMFS, VMFSSPARSE, SESPARSE, ...
	File    string // relative to the descriptor's folder
}

// WriteTo writes d in the descriptor text format.
func (d *Descriptor) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString("# Disk DescriptorFile\n")
	fmt.Fprintf(&b, "version=%d\n", d.Version)
	fmt.Fprintf(&b, "encoding=%q\n", d.Encoding)
	fmt.Fprintf(&b, "CID=%08x\n", d.CID)
	fmt.Fprintf(&b, "parentCID=%08x\n", d.ParentCID)
	fmt.Fprintf(&b, "createType=%q\n", d.CreateType)
	if d.ParentFileNameHint != "" {
		fmt.Fprintf(&b, "parentFileNameHint=%q\n", d.ParentFileNameHint)
	}
	b.WriteString("\n# Extent description\n")
	for _, e := range d.Extents {
		fmt.Fprintf(&b, "%s %d %s %q\n", e.Access, e.Sectors, e.Type, e.File)
	}
	b.WriteString("\n# The Disk Data Base\n#DDB\n\n")
	keys := make([]string, 0, len(d.DDB))
	for k := range d.DDB {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable order keeps rewritten descriptors comparable
	for _, k := range keys {
		fmt.Fprintf(&b, "ddb.%s = %q\n", k, d.DDB[k])
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ReadDescriptor parses a descriptor; text that is not one is an errdefs.ErrInvalid error.
func ReadDescriptor(r io.Reader) (*Descriptor, error) {
	d := &Descriptor{ParentCID: NoParentCID, DDB: map[string]string{}}
	var seenCID bool
	sc := bufio.NewScanner(io.LimitReader(r, maxDescriptorBytes))
	for sc.Scan() {
		line := strings.TrimSpace(strings.Trim(sc.Text(), "\x00"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if e, ok := parseExtent(line); ok {
			d.Extents = append(d.Extents, e)
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("vmdk descriptor line %q: %w", line, errdefs.ErrInvalid)
		}
		key, val = strings.TrimSpace(key), unquote(strings.TrimSpace(val))
		if k, isDDB := strings.CutPrefix(key, "ddb."); isDDB {
			d.DDB[k] = val
			continue
		}
		var err error
		switch strings.ToLower(key) {
		case "version":
			d.Version, err = strconv.Atoi(val)
		case "encoding":
			d.Encoding = val
		case "cid":
			d.CID, err = parseCID(val)
			seenCID = true
		case "parentcid":
			d.ParentCID, err = parseCID(val)
		case "createtype":
			d.CreateType = val
		case "parentfilenamehint":
			d.ParentFileNameHint = val
		}
		if err != nil {
			return nil, fmt.Errorf("vmdk descriptor %s: %v: %w", key, err, errdefs.ErrInvalid)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read vmdk descriptor: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	if !seenCID || len(d.Extents) == 0 {
		return nil, fmt.Errorf("not a vmdk descriptor (no CID or no extent): %w", errdefs.ErrInvalid)
	}
	return d, nil
}

// parseExtent reads `ACCESS SECTORS TYPE "FILE" [OFFSET]`.
func parseExtent(line string) (Extent, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || (f[0] != "RW" && f[0] != "RDONLY" && f[0] != "NOACCESS") {
		return Extent{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Extent{}, false
	}
	q := strings.Index(line, `"`)
	end := strings.LastIndex(line, `"`)
	if q < 0 || end <= q {
		return Extent{}, false
	}
	return Extent{Access: f[0], Sectors: n, Type: f[2], File: line[q+1 : end]}, true
}

func parseCID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	return uint32(v), err
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// ParentOf returns the local path of the parent of the descriptor at localPath, or "" when the disk has no
// parent. The hint is resolved against the descriptor's own folder, as ESXi does.
func ParentOf(localPath string) (string, error) {
	f, err := os.Open(localPath)
	if err != nil {
		return "", fmt.Errorf("open vmdk descriptor: %w", errdefs.Classed(err, osClass(err)))
	}
	defer f.Close()
	d, err := ReadDescriptor(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", localPath, err)
	}
	if d.ParentFileNameHint == "" || d.ParentCID == NoParentCID {
		return "", nil
	}
	if filepath.IsAbs(d.ParentFileNameHint) {
		return d.ParentFileNameHint, nil
	}
	return filepath.Join(filepath.Dir(localPath), filepath.FromSlash(d.ParentFileNameHint)), nil
}

// osClass is the class of a local file error.
func osClass(err error) error {
	switch {
	case os.IsNotExist(err):
		return errdefs.ErrNotFound
	case os.IsPermission(err):
		return errdefs.ErrForbidden
	}
	return errdefs.ErrSystem
}
