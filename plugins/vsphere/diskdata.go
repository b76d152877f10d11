package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// diskData writes what is inside a layer disk. The disks themselves (descriptors, chains, folders) are made
// through the vSphere APIs for every target; only their contents differ: on the simulator a disk's contents
// are a directory beside its descriptor (DiskDataDir), on real vSphere they are a filesystem on the disk.
type diskData interface {
	// format gives the new disk desc (a datastore path, "[ds] folder/x.vmdk") an empty filesystem.
	format(ctx context.Context, desc string) error
	// unpack fills the new disk desc from an uncompressed layer diff (read to its end) and returns the bytes
	// of its regular files. It writes the diff's index (diffindex.go) to index as it goes.
	unpack(ctx context.Context, desc string, diff io.Reader, index io.Writer) (int64, error)
	// keep creates the file name in desc's folder (the diff's index).
	keep(ctx context.Context, desc, name string) (io.WriteCloser, error)
	// readDiff rebuilds the uncompressed diff of the disk desc from its index (a file in desc's folder) and
	// its contents, checking that it has the digest diffID and diffSize bytes.
	readDiff(ctx context.Context, desc, index, diffID string, diffSize int64) (io.ReadCloser, error)
}

// newDiskData picks the implementation for ds. The simulator reports a datastore's URL as the local
// directory that holds its files; a real datastore's URL is "ds:///vmfs/volumes/...". This is the one place
// that tells them apart and the one place that maps datastore paths to local ones.
func newDiskData(ctx context.Context, ds *object.Datastore) (diskData, error) {
	var m mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"summary"}, &m); err != nil {
		return nil, classify(err, "read the summary of datastore "+ds.Name())
	}
	dir := m.Summary.Url
	if filepath.IsAbs(dir) {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return &localDiskData{datastore: ds.Name(), root: dir}, nil
		}
	}
	return vmDiskData{}, nil
}

// localDiskData keeps disk contents as directories on a datastore whose files are on this machine.
type localDiskData struct {
	datastore string
	root      string
}

// local maps a datastore path of this datastore to its local file.
func (l *localDiskData) local(dsPath string) (string, error) {
	var p object.DatastorePath
	if !p.FromString(dsPath) || p.Datastore != l.datastore {
		return "", fmt.Errorf("%q is not a path on datastore %s: %w", dsPath, l.datastore, errdefs.ErrInvalid)
	}
	local := filepath.Join(l.root, filepath.FromSlash(p.Path))
	if rel, err := filepath.Rel(l.root, local); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%q leaves datastore %s: %w", dsPath, l.datastore, errdefs.ErrInvalid)
	}
	return local, nil
}

func (l *localDiskData) format(_ context.Context, desc string) error {
	local, err := l.local(desc)
	if err != nil {
		return err
	}
	if err := os.Mkdir(DiskDataDir(local), 0o755); err != nil {
		return fmt.Errorf("format %s: %w", desc, errdefs.Classed(err, osClass(err)))
	}
	return nil
}

func (l *localDiskData) unpack(ctx context.Context, desc string, diff io.Reader, index io.Writer) (int64, error) {
	if err := l.format(ctx, desc); err != nil {
		return 0, err
	}
	local, _ := l.local(desc) // format checked it
	return unpackTar(ctx, diff, DiskDataDir(local), &diffKeeping{index: index, stash: diffStash(local)})
}

func (l *localDiskData) readDiff(_ context.Context, desc, index, diffID string, diffSize int64) (io.ReadCloser, error) {
	local, err := l.local(desc)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(filepath.Dir(local), index))
	if err != nil {
		return nil, fmt.Errorf("open the diff index of %s: %w", desc, errdefs.Classed(err, osClass(err)))
	}
	files, err := openLayerFiles(DiskDataDir(local), diffStash(local))
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := newDiffReader(f, files, diffID, diffSize)
	if err != nil {
		files.Close()
		f.Close()
		return nil, err
	}
	return r, nil
}

// diffStash is the local directory where an unpack keeps the files that later entries of its diff replaced.
func diffStash(localDescriptorPath string) string {
	return filepath.Join(filepath.Dir(localDescriptorPath), diffStashDir)
}

// diffKeeping is how an unpack keeps its diff: the index it writes, and the directory (a local path outside
// the layer's contents, made when first needed) where files that later entries replace are moved.
type diffKeeping struct {
	index io.Writer
	stash string
}

// keep writes the file in place. Streaming it through the datastore's HTTP API instead would race the
// cleanup of a failed write: the simulator makes a file's folder when the request arrives, which may be after
// the client gave up and the folder was removed.
func (l *localDiskData) keep(_ context.Context, desc, name string) (io.WriteCloser, error) {
	local, err := l.local(desc)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(filepath.Dir(local), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("keep %s beside %s: %w", name, desc, errdefs.Classed(err, osClass(err)))
	}
	return f, nil
}

// vmDiskData is the contents of disks on real vSphere. Writing them means attaching the new disk to the
// endpoint VM, making and filling a filesystem from inside it, and detaching it, as VIC's endpoint does; the
// endpoint VM does not exist yet, so this says so instead of pretending.
type vmDiskData struct{}

var errNoEndpointVM = errors.New("writing layer disks on vSphere needs the endpoint VM")

func (vmDiskData) format(context.Context, string) error {
	return fmt.Errorf("format a layer disk: %w: %w", errNoEndpointVM, errdefs.ErrNotImplemented)
}

func (vmDiskData) unpack(context.Context, string, io.Reader, io.Writer) (int64, error) {
	return 0, fmt.Errorf("fill a layer disk: %w: %w", errNoEndpointVM, errdefs.ErrNotImplemented)
}

func (vmDiskData) readDiff(context.Context, string, string, string, int64) (io.ReadCloser, error) {
	return nil, fmt.Errorf("read a layer disk: %w: %w", errNoEndpointVM, errdefs.ErrNotImplemented)
}

func (vmDiskData) keep(context.Context, string, string) (io.WriteCloser, error) {
	return nil, fmt.Errorf("keep a layer diff: %w: %w", errNoEndpointVM, errdefs.ErrNotImplemented)
}
