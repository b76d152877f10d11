package vsphere

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/tether/archive"
)

// openVolumeTree opens a volume's filesystem where the endpoint can read it (and write it, when writable): its
// disk attached to the endpoint and mounted, as a container's disk is, or its contents directory where disks
// hold directories (the simulator's local datastore outside block-disk mode).
func (b *Backend) openVolumeTree(ctx context.Context, rec *volumeFile, writable bool) (*archive.FS, func(), error) {
	s := rec.store
	desc := s.descriptor(rec.Name)
	if local := s.localPath(desc); local != "" && !b.cfg.BlockDisks {
		tree, closeTree, err := openDirTree(DiskDataDir(local))
		if err != nil {
			return nil, nil, fmt.Errorf("volume %s: %w", rec.Name, err)
		}
		return tree, closeTree, nil
	}
	data, err := b.prepareLayers(ctx)
	if err != nil {
		return nil, nil, err
	}
	v, ok := data.(*vmDiskData)
	if !ok {
		return nil, nil, fmt.Errorf("volume %s: the disk data %T attaches no disks: %w", rec.Name, data, errdefs.ErrSystem)
	}
	m, err := v.attachAndMount(ctx, s.files.ds.Path(desc), writable)
	if err != nil {
		return nil, nil, fmt.Errorf("volume %s: %w", rec.Name, err)
	}
	fd, err := unix.Dup(m.fs.fd()) // the FS closes its own
	if err != nil {
		_ = m.close(ctx, b)
		return nil, nil, fmt.Errorf("volume %s: %w", rec.Name, errdefs.Classed(err, errdefs.ErrSystem))
	}
	tree := archive.NewFS(fd)
	return tree, func() {
		tree.Close()
		if err := m.close(ctx, b); err != nil {
			b.log.Warn("detaching a volume's disk from the endpoint", "volume", rec.Name, "err", err)
		}
	}, nil
}

// openDirTree opens the tree of a directory of this machine.
func openDirTree(dir string) (*archive.FS, func(), error) {
	tree, err := archive.Open(dir)
	if err != nil {
		return nil, nil, fsError(err)
	}
	return tree, func() { tree.Close() }, nil
}
