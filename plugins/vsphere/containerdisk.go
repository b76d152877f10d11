package vsphere

import (
	"context"
	"io"

	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/archive"
)

// A container's disk is the writable child of its image's top layer disk (DESIGN §4). While no VM runs from
// it, the endpoint reads and writes it itself: that is how a created or stopped container's files are copied,
// listed, exported and committed without starting it. How depends on where disk contents live, so it is a
// capability of the disk data (diskData) that has it.

// containerDisks opens containers' disks.
type containerDisks interface {
	// openContainer opens the container disk desc ("[ds] <vm>/<id>.vmdk"). Writes through its FS land in the
	// disk, so only one opener may write, and never while a VM runs from the disk; a read-only opener may read
	// a disk a VM is running from (the contents it sees are as of each read).
	openContainer(ctx context.Context, desc string, writable bool) (containerDisk, error)
}

// containerDisk is one opened container disk.
type containerDisk interface {
	// FS is the container's root filesystem: the disk over its image's chain, as the guest would see it
	// (without volumes).
	FS(ctx context.Context) (*archive.FS, error)
	// Changes lists the disk's changes against the image, Docker's way (changes.go): guestFiles are the files
	// the guest writes at each boot, no change of the container's unless it deleted them after a boot.
	Changes(ctx context.Context, guestFiles []string, booted bool) ([]*models.FileChange, error)
	// WriteDiff writes the disk's changes as a layer diff tar (whiteouts and opaque directories in Docker's
	// form), without guestFiles.
	WriteDiff(ctx context.Context, w io.Writer, guestFiles []string) error
	// Usage is the space of the disk's own contents as Docker counts an overlay2 upper layer (SizeRw): the sizes
	// of what is not a directory, a file with several links once, without guestFiles.
	Usage(ctx context.Context, guestFiles []string) (int64, error)
	// Close releases what the opener holds (the mounts).
	Close() error
}
