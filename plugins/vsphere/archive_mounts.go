package vsphere

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/tether/archive"
	"github.com/vice-engine/vice/tether/wire"
)

// A stopped container's paths on its mounts are read and written where the mount's files are, as dockerd
// mounts a stopped container's volumes for docker cp: a volume's on its disk, attached to the endpoint and
// mounted as the container's own disk is (on the simulator's local datastore, its contents directory); a bind
// mount's (where guests share this host, Config.HostBinds) in its host directory. A tmpfs has no files while
// the container is stopped: its path is the disk's, beneath it, as with dockerd. An NFS volume's files are on
// its export, which the endpoint reaches through an NFS client (volumes_nfs.go) and never mounts: that is
// not a disk, and a stopped container's NFS paths are refused. A path above a mount point is the disk's
// alone.

// mountOf is the innermost mount of c that holds the cleaned path clean, and clean's path within it; nil for
// a path on the container's disk.
func mountOf(c *containerVM, clean string) (*wire.Mount, string) {
	plain := path.Clean(clean)
	var found *wire.Mount
	for _, m := range guestConfigOf(c).Mounts {
		dst := path.Clean(m.Destination)
		if m.Type == wire.MountTmpfs || dst == "/" {
			continue
		}
		if plain != dst && !strings.HasPrefix(plain, dst+"/") {
			continue
		}
		if found == nil || len(dst) > len(path.Clean(found.Destination)) {
			found = &m
		}
	}
	if found == nil {
		return nil, clean
	}
	// What follows the mount point, with the trailing "/" or "/." that asks to follow the last element.
	return found, archive.CleanPath(strings.TrimPrefix(clean, path.Clean(found.Destination)))
}

// at is the tree that holds p of the stopped container o.c, p's path in it and the name its entries take
// (p's last element, whichever tree it is on): the container's disk, or the mount p is on, opened now
// (writable for a write) and closed with o.
func (o *openedDisk) at(ctx context.Context, b *Backend, p string, writable bool) (*archive.FS, string, string, error) {
	clean := archive.CleanPath(p)
	name := archive.BaseName(clean)
	m, rel := mountOf(o.c, clean)
	if m == nil {
		return o.tree, clean, name, nil
	}
	if writable && m.ReadOnly {
		return nil, "", "", fmt.Errorf("%s is on the container's %s mount at %s: mounted volume is marked read-only: %w",
			p, m.Type, m.Destination, errdefs.ErrInvalid)
	}
	tree, closeTree, err := b.openMountTree(ctx, o.c, m, writable)
	if err != nil {
		return nil, "", "", err
	}
	release := o.release
	o.release = func() { closeTree(); release() }
	return tree, rel, name, nil
}

// openMountTree opens the files of the stopped container c's mount m (a volume or a bind mount).
func (b *Backend) openMountTree(ctx context.Context, c *containerVM, m *wire.Mount, writable bool) (*archive.FS, func(), error) {
	switch {
	case m.Type == wire.MountBind:
		if !b.cfg.HostBinds {
			return nil, nil, fmt.Errorf("container %s has a bind mount of %s: %w: %w", c.id(), m.Source, errBindsOnVSphere, errdefs.ErrInvalid)
		}
		return openDirTree(m.Source)
	case m.Type == wire.MountVolume && m.NFS != "":
		return nil, nil, fmt.Errorf("%s is on the container's NFS volume %s, whose files are on the export %s, which only "+
			"the running container mounts: start it to copy its files: %w", m.Destination, m.Source, m.NFS, errdefs.ErrNotImplemented)
	case m.Type == wire.MountVolume:
		rec, err := b.findVolume(ctx, m.Source)
		if err != nil {
			return nil, nil, fmt.Errorf("volume %s of container %s: %w", m.Source, c.id(), err)
		}
		return b.openVolumeTree(ctx, rec, writable)
	}
	return nil, nil, fmt.Errorf("container %s: a mount of type %q at %s: %w", c.id(), m.Type, m.Destination, errdefs.ErrSystem)
}
