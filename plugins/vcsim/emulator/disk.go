package emulator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxChain bounds a disk chain: a longer one is a loop (overlayfs stacks far fewer layers anyway).
const maxChain = 256

// diskDataDir is the directory holding the contents of the disk whose descriptor is at localDescriptor, on a
// datastore whose files are local: the disk's overlayfs layer. It follows the vsphere backend's rule
// (vsphere.DiskDataDir) and is kept in this one function so the two can be made one.
func diskDataDir(localDescriptor string) string {
	return filepath.Join(filepath.Dir(localDescriptor), "rootfs")
}

// diskChain follows parentFileNameHint from the descriptor at top to the disk without a parent and returns
// the descriptors' local paths, top first. A hint is a datastore path ("[ds] a/b.vmdk"), an absolute path,
// or a path relative to the child's folder, as ESXi resolves it.
func diskChain(ctx context.Context, ds *datastores, top string) ([]string, error) {
	chain := []string{top}
	for cur := top; ; {
		hint, err := parentHint(cur)
		if err != nil {
			return nil, err
		}
		if hint == "" {
			return chain, nil
		}
		var parent string
		switch {
		case strings.HasPrefix(hint, "["):
			if parent, err = ds.local(ctx, hint); err != nil {
				return nil, fmt.Errorf("parent of %s: %w", cur, err)
			}
		case filepath.IsAbs(hint):
			parent = hint
		default:
			parent = filepath.Join(filepath.Dir(cur), filepath.FromSlash(hint))
		}
		if len(chain) >= maxChain {
			return nil, fmt.Errorf("disk chain of %s is longer than %d", top, maxChain)
		}
		chain = append(chain, parent)
		cur = parent
	}
}

// parentHint reads the parentFileNameHint of a VMDK descriptor; "" when the disk has no parent.
func parentHint(localDescriptor string) (string, error) {
	f, err := os.Open(localDescriptor)
	if err != nil {
		return "", fmt.Errorf("disk descriptor: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10)) // descriptors are well under 1 KiB
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "parentFileNameHint") {
			continue
		}
		return strings.Trim(strings.TrimSpace(val), `"`), nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("disk descriptor %s: %w", localDescriptor, err)
	}
	return "", nil
}
