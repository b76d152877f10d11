package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// diskData makes disks and writes and reads what is inside them. The disks' folders and records are the same
// for every target; how a disk is made and filled differs: on the simulator a disk's contents are a directory
// beside its descriptor (DiskDataDir, localDiskData), on real vSphere (and the simulator in block-disk mode) a
// filesystem on the disk itself, written by attaching the disk to the endpoint VM (vmDiskData).
type diskData interface {
	// createDisk makes the disk rel (a descriptor path relative to the datastore) as a child of the disk
	// parentRel, whose descriptor is parent (nil, "" for a fresh disk), and returns its descriptor.
	createDisk(ctx context.Context, rel string, parent *Descriptor, parentRel string) (*Descriptor, error)
	// format gives the new disk desc (a datastore path, "[ds] folder/x.vmdk") an empty filesystem, if its
	// creation did not already.
	format(ctx context.Context, desc string) error
	// writeLayer makes the layer disk of job in its temporary folder, as a child of the parent's disk,
	// fills it from the diff and writes the diff's index beside it.
	writeLayer(ctx context.Context, job *layerJob) (*layerResult, error)
	// readDiff rebuilds the uncompressed diff of the disk desc from its index (a file in desc's folder) and
	// its contents, checking that it has the digest diffID and diffSize bytes.
	readDiff(ctx context.Context, desc, index, diffID string, diffSize int64) (io.ReadCloser, error)
}

// newDiskData picks the implementation for ds. The simulator reports a datastore's URL as the local
// directory that holds its files; a real datastore's URL is "ds:///vmfs/volumes/...". This is the one place
// that tells them apart and the one place that maps datastore paths to local ones.
func (b *Backend) newDiskData(ctx context.Context) (diskData, error) {
	ds := b.where.datastore
	var m mo.Datastore
	if err := ds.Properties(ctx, ds.Reference(), []string{"summary"}, &m); err != nil {
		return nil, classify(err, "read the summary of datastore "+ds.Name())
	}
	dir := m.Summary.Url
	if filepath.IsAbs(dir) && !b.cfg.BlockDisks {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return &localDiskData{b: b, datastore: ds.Name(), root: dir}, nil
		}
	}
	return &vmDiskData{b: b}, nil
}

// localDiskData keeps disk contents as directories on a datastore whose files are on this machine.
type localDiskData struct {
	b         *Backend
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

// readFileRange reads the datastore file dsPath from offset on, as the datastore's HTTP API would answer a
// ranged GET: exists is false for a missing file, and nothing past the end is no data.
func (l *localDiskData) readFileRange(dsPath string, offset int64) (data []byte, exists bool, err error) {
	p, err := l.local(dsPath)
	if err != nil {
		return nil, false, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", dsPath, errdefs.Classed(err, osClass(err)))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", dsPath, errdefs.Classed(err, osClass(err)))
	}
	if st.IsDir() {
		return nil, false, fmt.Errorf("read %s: a folder: %w", dsPath, errdefs.ErrInvalid)
	}
	if offset >= st.Size() {
		return nil, true, nil // a file shorter than before was replaced: nothing new to say
	}
	data, err = io.ReadAll(io.NewSectionReader(f, offset, st.Size()-offset))
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", dsPath, errdefs.Classed(err, osClass(err)))
	}
	return data, true, nil
}

// createDisk makes the thin disk as the simulator's VirtualDiskManager would, as files of this machine: the
// descriptor (ours at once, naming the parent) and its empty flat extent. Through vSphere that was a
// CreateVirtualDisk task and its read, then the descriptor read back and written again; the disk's contents
// are written here anyway. A descriptor that exists is refused, as vSphere refuses it (FileAlreadyExists).
func (l *localDiskData) createDisk(_ context.Context, rel string, parent *Descriptor, parentRel string) (*Descriptor, error) {
	desc := l.b.where.datastore.Path(rel)
	local, err := l.local(desc)
	if err != nil {
		return nil, err
	}
	flat := strings.TrimSuffix(filepath.Base(local), ".vmdk") + "-flat.vmdk"
	made := &Descriptor{
		CreateType: "vmfs",
		Extents:    []Extent{{Access: "RW", Sectors: layerDiskCapacityKB * 1024 / 512, Type: "VMFS", File: flat}},
		DDB:        map[string]string{},
	}
	d, raw, err := ourDescriptor(made, parent, relativeHint(rel, parentRel))
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create disk %s: the file exists: %w", desc, errdefs.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create disk %s: %w", desc, errdefs.Classed(err, osClass(err)))
	}
	fail := func(err error) (*Descriptor, error) {
		f.Close()
		os.Remove(filepath.Join(filepath.Dir(local), flat))
		os.Remove(local)
		return nil, fmt.Errorf("create disk %s: %w", desc, errdefs.Classed(err, osClass(err)))
	}
	extent, err := os.Create(filepath.Join(filepath.Dir(local), flat))
	if err != nil {
		return fail(err)
	}
	if err := extent.Close(); err != nil {
		return fail(err)
	}
	if _, err := f.Write(raw); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return d, nil
}

// mkdir creates the folder rel, whose parent exists, as vSphere's MakeDirectory would (the simulator makes
// it 0700), and says whether it did: false when rel existed.
func (l *localDiskData) mkdir(rel string) (created bool, _ error) {
	dsPath := l.b.where.datastore.Path(rel)
	local, err := l.local(dsPath)
	if err != nil {
		return false, err
	}
	switch err := os.Mkdir(local, 0o700); {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		return false, fmt.Errorf("create %s: %w", dsPath, errdefs.Classed(err, osClass(err)))
	}
}

// removeAll deletes the folder or file rel with everything in it, as vSphere's DeleteDatastoreFile would;
// one that is not there is an errdefs.ErrNotFound error, as there.
func (l *localDiskData) removeAll(rel string) error {
	dsPath := l.b.where.datastore.Path(rel)
	local, err := l.local(dsPath)
	if err != nil {
		return err
	}
	if local == filepath.Clean(l.root) {
		return fmt.Errorf("delete %s: the datastore's root: %w", dsPath, errdefs.ErrInvalid)
	}
	if _, err := os.Lstat(local); err != nil {
		return fmt.Errorf("delete %s: %w", dsPath, errdefs.Classed(err, osClass(err)))
	}
	// A write into the folder may still be under way (the simulator finishing a request its client gave up
	// on: a failed layer write's disk): the folder is then not empty when its removal gets to it, and the
	// removal goes again once that write is done.
	err = os.RemoveAll(local)
	for wait := time.Millisecond; err != nil && wait <= 64*time.Millisecond; wait *= 2 {
		time.Sleep(wait)
		err = os.RemoveAll(local)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", dsPath, errdefs.Classed(err, osClass(err)))
	}
	return nil
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
	// reserved is a name in the layer's root that the diff must leave alone: the stash, when it is on the
	// disk being written (vmDiskData).
	reserved string
}

// keep creates the file name in desc's folder. Streaming it through the datastore's HTTP API instead would
// race the cleanup of a failed write: the simulator makes a file's folder when the request arrives, which may
// be after the client gave up and the folder was removed.
func (l *localDiskData) keep(desc, name string) (*os.File, error) {
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

// relativeHint is the parent's descriptor relative to the folder of the child rel (both relative to the
// datastore's root), as a descriptor names its parent: the chain survives the datastore being mounted
// elsewhere. "" without a parent.
func relativeHint(rel, parentRel string) string {
	if parentRel == "" {
		return ""
	}
	dir := path.Dir(rel)
	if dir == "." {
		return parentRel
	}
	return strings.Repeat("../", strings.Count(dir, "/")+1) + parentRel
}
