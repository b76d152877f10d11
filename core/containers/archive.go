package containers

import (
	"context"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// The archive endpoints (docker cp, diff, export): the backend reaches a running container's files through
// its guest and a stopped one's on its disk; the service names them as Docker does.

// StatPath is HEAD /containers/{id}/archive: what is at p in the container.
func (s *Service) StatPath(ctx context.Context, ref, p string) (container.PathStat, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return container.PathStat{}, err
	}
	st, err := s.pl.StatPath(ctx, r.ID, p)
	if err != nil {
		return container.PathStat{}, fileError(err, p, ref)
	}
	return pathStat(st), nil
}

// ArchivePath is GET /containers/{id}/archive: the stat of p and a tar of it.
func (s *Service) ArchivePath(ctx context.Context, ref, p string) (io.ReadCloser, container.PathStat, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, container.PathStat{}, err
	}
	st, err := s.pl.StatPath(ctx, r.ID, p)
	if err != nil {
		return nil, container.PathStat{}, fileError(err, p, ref)
	}
	rc, err := s.pl.ReadArchive(ctx, r.ID, p)
	if err != nil {
		return nil, container.PathStat{}, fileError(err, p, ref)
	}
	return rc, pathStat(st), nil
}

// ExtractToDir is PUT /containers/{id}/archive: the tar read from body is extracted into the directory p.
func (s *Service) ExtractToDir(ctx context.Context, ref, p string, noOverwriteDirNonDir, copyUIDGID bool, body io.Reader) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	// dockerd's checks of a writable destination: a read-only mount, else a read-only root filesystem.
	if m := mountAt(r, p); m != nil && m.ReadOnly {
		return dockermsg.VolumeReadOnly.Err()
	} else if m == nil && r.HostConfig.ReadonlyRootfs {
		return dockermsg.RootfsReadOnly.Err()
	}
	opts := sdk.WriteArchiveOptions{NoOverwriteDirNonDir: noOverwriteDirNonDir, CopyUIDGID: copyUIDGID}
	if err := s.pl.WriteArchive(ctx, r.ID, p, opts, body); err != nil {
		return fileError(err, p, ref)
	}
	return nil
}

// mountAt is the container's mount that p is at or below, or nil.
func mountAt(r *record, p string) *models.Mount {
	clean := path.Join("/", p)
	for _, m := range r.spec.Mounts {
		if m == nil || m.Destination == "" {
			continue
		}
		dst := path.Clean(m.Destination)
		if clean == dst || strings.HasPrefix(clean, strings.TrimSuffix(dst, "/")+"/") {
			return m
		}
	}
	return nil
}

// Changes is GET /containers/{id}/changes: the container's changes against its image, in Docker's order. A
// container without changes has none (null), as dockerd answers.
func (s *Service) Changes(ctx context.Context, ref string) ([]container.FilesystemChange, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	list, err := s.pl.ContainerChanges(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	var out []container.FilesystemChange
	for _, c := range list {
		kind := container.ChangeModify
		switch c.Kind {
		case "added":
			kind = container.ChangeAdd
		case "deleted":
			kind = container.ChangeDelete
		}
		out = append(out, container.FilesystemChange{Path: c.Path, Kind: kind})
	}
	return out, nil
}

// Export is GET /containers/{id}/export: the container's root filesystem as a tar.
func (s *Service) Export(ctx context.Context, ref string) (io.ReadCloser, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.pl.ExportContainer(ctx, r.ID)
}

// fileError words a missing path as dockerd does; other errors keep the backend's words.
func fileError(err error, p, ref string) error {
	if errdefs.Is(err, errdefs.ErrNotFound) {
		return dockermsg.FileNotFound.Err(p, ref)
	}
	return err
}

// pathStat is Docker's PathStat of the port layer's: st_mode in Go's FileMode bits.
func pathStat(st *models.PathStat) container.PathStat {
	mtime, _ := time.Parse(time.RFC3339Nano, st.Mtime)
	return container.PathStat{Name: st.Name, Size: st.Size, Mode: fileMode(uint32(st.Mode)), Mtime: mtime,
		LinkTarget: st.LinkTarget}
}

// POSIX st_mode bits.
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
	sISUID  = 0o4000
	sISGID  = 0o2000
	sISVTX  = 0o1000
)

// fileMode converts st_mode to Go's FileMode, as os.Lstat does.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & sIFMT {
	case sIFBLK:
		mode |= fs.ModeDevice
	case sIFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case sIFDIR:
		mode |= fs.ModeDir
	case sIFIFO:
		mode |= fs.ModeNamedPipe
	case sIFLNK:
		mode |= fs.ModeSymlink
	case sIFSOCK:
		mode |= fs.ModeSocket
	}
	if m&sISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&sISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&sISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// Diff is the container's changes against its image as an uncompressed layer diff (whiteouts included): what
// a commit, or a build step, makes a layer of.
func (s *Service) Diff(ctx context.Context, ref string) (io.ReadCloser, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.pl.ReadContainerDiff(ctx, r.ID)
}
