package vsphere

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// The image store's layout on the datastore (DESIGN §4):
//
//	VIC/<vch>/images/scratch/scratch.vmdk          the empty root disk of every chain
//	VIC/<vch>/images/<id>/<id>.vmdk                a layer disk, a child of its parent's (or scratch)
//	VIC/<vch>/images/<id>/diff.index               what rebuilds the diff from the disk's files, for export (diffindex.go)
//	VIC/<vch>/images/<id>/diff.stash/              files of the diff that later entries of it replaced (rarely there)
//	VIC/<vch>/images/<id>/diff.tar[.gz]            instead of diff.index, in layers written before it: the stream as sent
//	VIC/<vch>/images/<id>/layer.json               the completion record (written last, before the commit)
//	VIC/<vch>/images/<id>/rootfs/                  on the simulator: the disk's contents (see DiskDataDir)
//	VIC/<vch>/images/.tmp-<id>-<random>/           a layer being written; renamed to <id> to commit it
//
// These helpers are shared with the vcsim hypervisor emulator, which mounts layer chains with overlayfs.

// ScratchID names the empty disk at the root of every layer chain.
const ScratchID = "scratch"

const (
	imagesFolder   = "images"
	layerRecord    = "layer.json"
	tmpPrefix      = ".tmp-"
	rootfsDir      = "rootfs"
	diffIndexFile  = "diff.index"
	diffStashDir   = "diff.stash"
	maxChainLength = 256 // the overlayfs stacking limit is far below; a longer chain is a loop
)

// layerIDPattern is the port layer's layer ID: a chain ID, hex SHA-256 without the algorithm.
var layerIDPattern = regexp.MustCompile(`^[a-f0-9]{64}$`)

// ImagesFolder is the VCH's image store folder, relative to the datastore root.
func ImagesFolder(vch string) string { return path.Join("VIC", vch, imagesFolder) }

// LayerDescriptor is the datastore-relative path of a layer's (or ScratchID's) disk descriptor.
func LayerDescriptor(vch, id string) string { return path.Join(ImagesFolder(vch), id, id+".vmdk") }

// checkCompression accepts the compressions of a layer diff stream: "" (none), "none" and "gzip".
func checkCompression(compression string) error {
	switch compression {
	case "", "none", "gzip":
		return nil
	}
	return fmt.Errorf("compression %q (want none or gzip): %w", compression, errdefs.ErrInvalid)
}

// DiskDataDir is the directory that holds the contents of the disk whose descriptor is at
// localDescriptorPath, on a datastore whose files are local (the simulator): the overlayfs layer of that disk.
func DiskDataDir(localDescriptorPath string) string {
	return filepath.Join(filepath.Dir(localDescriptorPath), rootfsDir)
}

// Chain follows the parentFileNameHints from the descriptor at localDescriptorPath to the root disk and
// returns the descriptors' local paths, the given one first.
func Chain(localDescriptorPath string) ([]string, error) {
	chain := []string{localDescriptorPath}
	for p := localDescriptorPath; ; {
		parent, err := ParentOf(p)
		if err != nil {
			return nil, err
		}
		if parent == "" {
			return chain, nil
		}
		if len(chain) >= maxChainLength {
			return nil, fmt.Errorf("disk chain of %s is longer than %d: %w", localDescriptorPath, maxChainLength,
				errdefs.ErrInvalid)
		}
		chain = append(chain, parent)
		p = parent
	}
}

// LowerDirs is the disk chain's content directories, top first: the order of overlayfs's lowerdir option.
func LowerDirs(localDescriptorPath string) ([]string, error) {
	chain, err := Chain(localDescriptorPath)
	if err != nil {
		return nil, err
	}
	dirs := make([]string, len(chain))
	for i, d := range chain {
		dirs[i] = DiskDataDir(d)
	}
	return dirs, nil
}

// checkLayerID refuses anything but a chain ID, so an ID never names another path.
func checkLayerID(what, id string) error {
	if !layerIDPattern.MatchString(id) {
		return fmt.Errorf("%s %q is not a layer ID (64 lowercase hex digits): %w", what, id, errdefs.ErrInvalid)
	}
	return nil
}

// isTempFolder reports whether a folder name in the images folder is a write in progress (or its wreck).
func isTempFolder(name string) bool { return strings.HasPrefix(name, tmpPrefix) }
