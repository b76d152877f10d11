package sdk

import (
	"context"
	"io"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// Archive reads and writes a container's filesystem (the port layer's archive group): a running container's as
// its process sees it, mounted volumes included; a created or stopped one's from its disk, without starting it.
// Paths are absolute in the container and resolved in its root: symlinks are followed within it, never out of
// it. Every method takes the full 64-hex container ID; a malformed one is errdefs.ErrInvalid, an unknown one
// errdefs.ErrNotFound.
type Archive interface {
	// StatPath describes what is at path: its directories resolved, the last element not followed unless path
	// ends in "/" or "/.". A path that does not exist is errdefs.ErrNotFound.
	StatPath(ctx context.Context, id, path string) (*models.PathStat, error)
	// ReadArchive streams a tar of what is at path (resolved as StatPath does): a directory with all below it,
	// anything else as one entry, named after path's last element as given ("/a/b/." gives "." and "./...").
	// A path that does not exist is errdefs.ErrNotFound.
	ReadArchive(ctx context.Context, id, path string) (io.ReadCloser, error)
	// WriteArchive extracts the tar read from r into the directory path (resolved fully). A path that does not
	// exist is errdefs.ErrNotFound; one that is not a directory, a malformed tar, or an entry that breaks
	// opts.NoOverwriteDirNonDir errdefs.ErrInvalid.
	WriteArchive(ctx context.Context, id, path string, opts WriteArchiveOptions, r io.Reader) error
	// ContainerChanges lists the changes of the container's filesystem against its image, in lexical order,
	// parents first; what the guest writes at boot (/etc/hosts, /etc/hostname, /etc/resolv.conf) counts as
	// part of the image.
	ContainerChanges(ctx context.Context, id string) ([]*models.FileChange, error)
	// ReadContainerDiff streams the container's changes as an uncompressed layer diff (.wh. whiteouts, opaque
	// directories), read from its disk whether it runs or not; a caller wanting a consistent diff of a running
	// container pauses it first.
	ReadContainerDiff(ctx context.Context, id string) (io.ReadCloser, error)
	// ExportContainer streams the container's whole root filesystem as a tar, without mounted volumes or
	// pseudo-filesystems.
	ExportContainer(ctx context.Context, id string) (io.ReadCloser, error)
}

// WriteArchiveOptions say how WriteArchive extracts.
type WriteArchiveOptions struct {
	// NoOverwriteDirNonDir refuses to replace a directory with a non-directory, or the reverse.
	NoOverwriteDirNonDir bool
	// CopyUIDGID gives the entries the uid and gid of the container's user instead of the tar's.
	CopyUIDGID bool
}

// DiskUsage measures containers' disks (the archive group's usage): what `docker ps -s`, `docker system df` and
// a prune's space reclaimed report. It is apart from Archive so that a backend can read files without
// measuring them, or the other way round.
type DiskUsage interface {
	// ContainerUsage is the space container id's own writes take on its disk, running or not (Docker's
	// SizeRw): the sizes of what is not a directory on the disk over its image, a file with several links
	// once, the guest's boot files (/etc/hosts, /etc/hostname, /etc/resolv.conf) left out. A malformed ID is
	// errdefs.ErrInvalid, an unknown one errdefs.ErrNotFound; a target whose disks the backend cannot read is
	// errdefs.ErrNotImplemented.
	ContainerUsage(ctx context.Context, id string) (*models.ContainerUsage, error)
}
