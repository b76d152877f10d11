package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/willscott/go-nfs-client/nfs"
	"github.com/willscott/go-nfs-client/nfs/rpc"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// An NFS volume store (DESIGN §5b) is an export holding a folder per volume: `<path>/volumes/<name>/data` is what
// the container mounts and `volume.json` beside it the volume's record. The endpoint makes and removes them over
// NFS (a Go NFS v3 client); the guest mounts the data folder itself.

// nfsTimeout bounds one store operation.
const nfsTimeout = time.Minute

// nfsDataDir is the folder of an NFS volume that containers mount.
const nfsDataDir = "data"

// nfsTarget mounts the store's export over NFS v3: straight to host:port when the URL names a port (a server
// that serves MOUNT and NFS on one port, as Go servers do), else through the host's portmapper.
func (s *volumeStore) nfsTarget() (*nfs.Target, func(), error) {
	auth := rpc.AuthNull
	if s.cfg.UID >= 0 || s.cfg.GID >= 0 {
		host, _ := os.Hostname()
		auth = rpc.NewAuthUnix(host, uint32(max(s.cfg.UID, 0)), uint32(max(s.cfg.GID, 0))).Auth()
	}
	export := "/" + strings.Trim(s.cfg.Path, "/")
	var m *nfs.Mount
	if _, _, err := net.SplitHostPort(s.cfg.Host); err == nil {
		// The client binds a random local port of its own and gives up when it is taken: try a few.
		c, err := rpc.DialTCP("tcp", s.cfg.Host, false)
		for try := 0; err != nil && errors.Is(err, syscall.EADDRINUSE) && try < 8; try++ {
			c, err = rpc.DialTCP("tcp", s.cfg.Host, false)
		}
		if err != nil {
			return nil, nil, s.nfsErr("dial", err, errdefs.ErrUnavailable)
		}
		m = &nfs.Mount{Client: c}
	} else {
		var err error
		if m, err = nfs.DialMount(s.cfg.Host, 0); err != nil {
			return nil, nil, s.nfsErr("dial", err, errdefs.ErrUnavailable)
		}
	}
	t, err := m.Mount(export, auth)
	if err != nil {
		m.Close()
		return nil, nil, s.nfsErr("mount "+export, err, errdefs.ErrUnavailable)
	}
	return t, func() { _ = m.Unmount(); m.Close() }, nil
}

func (s *volumeStore) nfsErr(op string, err error, class error) error {
	if os.IsNotExist(err) {
		class = errdefs.ErrNotFound
	}
	return fmt.Errorf("NFS volume store %s (%s): %s: %w", s.cfg.Label, s.cfg.URL(), op, errdefs.Classed(err, class))
}

// withNFS runs f on the store's mounted export, within nfsTimeout (the client has no contexts of its own).
func (s *volumeStore) withNFS(ctx context.Context, f func(t *nfs.Target) error) error {
	ctx, cancel := context.WithTimeout(ctx, nfsTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		t, release, err := s.nfsTarget()
		if err != nil {
			done <- err
			return
		}
		defer release()
		done <- f(t)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("NFS volume store %s: %w", s.cfg.Label, ctx.Err())
	}
}

// createNFSVolume makes the volume's folder with its data folder and record, under a temporary name renamed
// into place, so a volume is complete or absent.
func (b *Backend) createNFSVolume(ctx context.Context, s *volumeStore, rec *volumeFile) error {
	return s.withNFS(ctx, func(t *nfs.Target) error {
		if _, err := t.Mkdir(volumesFolder, 0o755); err != nil && !os.IsExist(err) {
			return s.nfsErr("mkdir "+volumesFolder, err, errdefs.ErrSystem)
		}
		final := path.Join(volumesFolder, rec.Name)
		if _, _, err := t.Lookup(final); err == nil {
			return fmt.Errorf("volume %s already exists: %w", rec.Name, errdefs.ErrConflict)
		}
		tmp := path.Join(volumesFolder, tmpPrefix+rec.Name+"-"+randomSuffix())
		err := func() error {
			if _, err := t.Mkdir(tmp, 0o755); err != nil {
				return s.nfsErr("mkdir "+tmp, err, errdefs.ErrSystem)
			}
			if _, err := t.Mkdir(path.Join(tmp, nfsDataDir), 0o777); err != nil {
				return s.nfsErr("mkdir "+tmp+"/"+nfsDataDir, err, errdefs.ErrSystem)
			}
			data, _ := json.Marshal(rec)
			f, err := t.OpenFile(path.Join(tmp, volumeRecord), 0o644)
			if err != nil {
				return s.nfsErr("create the record", err, errdefs.ErrSystem)
			}
			if _, err := f.Write(data); err != nil {
				f.Close()
				return s.nfsErr("write the record", err, errdefs.ErrSystem)
			}
			if err := f.Close(); err != nil {
				return s.nfsErr("write the record", err, errdefs.ErrSystem)
			}
			if err := t.Rename(tmp, final); err != nil {
				return s.nfsErr("rename "+tmp, err, errdefs.ErrConflict)
			}
			return nil
		}()
		if err != nil {
			_ = t.RemoveAll(tmp)
		}
		return err
	})
}

// readNFSVolume reads the record of volume name.
func (b *Backend) readNFSVolume(ctx context.Context, s *volumeStore, name string) (*volumeFile, error) {
	rec := &volumeFile{store: s}
	err := s.withNFS(ctx, func(t *nfs.Target) error {
		f, err := t.Open(path.Join(volumesFolder, name, volumeRecord))
		if err != nil {
			if os.IsNotExist(err) {
				return fmt.Errorf("volume %s: %w", name, errdefs.ErrNotFound)
			}
			return s.nfsErr("read the record of "+name, err, errdefs.ErrSystem)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxVolumeRecordBytes))
		if err != nil {
			return s.nfsErr("read the record of "+name, err, errdefs.ErrSystem)
		}
		if err := json.Unmarshal(data, rec); err != nil || rec.Name != name {
			return fmt.Errorf("volume %s: damaged record: %w", name, errdefs.ErrSystem)
		}
		return nil
	})
	return rec, err
}

// listNFSVolumes lists the volume folders of the export.
func (b *Backend) listNFSVolumes(ctx context.Context, s *volumeStore) ([]string, error) {
	var names []string
	err := s.withNFS(ctx, func(t *nfs.Target) error {
		entries, err := t.ReadDirPlus(volumesFolder)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return s.nfsErr("list "+volumesFolder, err, errdefs.ErrSystem)
		}
		for _, e := range entries {
			if n := e.Name(); e.IsDir() && !isTempFolder(n) && checkVolumeName(n) == nil {
				names = append(names, n)
			}
		}
		return nil
	})
	return names, err
}

// removeNFSVolume removes the volume's folder and everything in it.
func (b *Backend) removeNFSVolume(ctx context.Context, s *volumeStore, name string) error {
	return s.withNFS(ctx, func(t *nfs.Target) error {
		if err := t.RemoveAll(path.Join(volumesFolder, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return s.nfsErr("remove "+name, err, errdefs.ErrSystem)
		}
		return nil
	})
}

// nfsSource is what the guest mounts for an NFS volume: "host:/export/volumes/<name>/data".
func (s *volumeStore) nfsSource(name string) string {
	host := s.cfg.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return host + ":" + path.Join("/", s.cfg.Path, volumesFolder, name, nfsDataDir)
}
