package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// vmDiskData writes disks from inside the endpoint VM, as VIC's endpoint does (attach-to-self): a new disk is
// created attached to the endpoint VM (ESXi makes a child of the parent's disk a delta disk, which shows
// the parent's filesystem), found as a block device there, formatted when it is a fresh one, mounted,
// filled with the diff (whiteouts applied: what they hide is removed), unmounted and detached. The diff's
// index and stash go to the layer's folder through the datastore's HTTP API. Whatever fails, the disk is
// unmounted and detached before the error returns; a crash leaves it attached, and the next start detaches it
// (detachLeftovers) before the temporary folder is swept.
type vmDiskData struct{ b *Backend }

// stashList names, in a layer folder's diff.stash, the files stashed during the unpack (their numbers, one
// per line), so reading the diff back asks for the stash once.
const stashList = "list"

// createDisk makes the disk attached to the endpoint VM (a child of parentRel, or a fresh disk, which it
// formats) and detaches it.
func (v *vmDiskData) createDisk(ctx context.Context, rel string, _ *Descriptor, parentRel string) (*Descriptor, error) {
	b := v.b
	a := diskAttach{file: b.where.datastore.Path(rel), create: true}
	if parentRel != "" {
		a.parent = b.where.datastore.Path(parentRel)
	}
	d, err := b.attachDisk(ctx, a)
	if err != nil {
		return nil, err
	}
	var ferr error
	if a.parent == "" {
		ferr = formatDisk(d.device)
	}
	if err := errors.Join(ferr, b.detachDisk(context.WithoutCancel(ctx), d)); err != nil {
		return nil, fmt.Errorf("create disk %s: %w", a.file, err)
	}
	return b.readDescriptor(ctx, rel)
}

// format has nothing to do: a fresh disk was formatted as it was made, and a child disk shows its parent's
// filesystem.
func (v *vmDiskData) format(context.Context, string) error { return nil }

// writeLayer makes the layer's disk a child of its parent's, which must be complete first.
func (v *vmDiskData) writeLayer(ctx context.Context, job *layerJob) (res *layerResult, err error) {
	b := v.b
	if err := b.layers.waitWrite(ctx, job.parent); err != nil {
		return nil, err
	}
	_, parentID, err := b.parentDisk(ctx, v, job.parent)
	if err != nil {
		return nil, err
	}
	ds := b.where.datastore
	d, err := b.attachDisk(ctx, diskAttach{
		file: ds.Path(job.desc), parent: ds.Path(LayerDescriptor(b.cfg.VCHName, parentID)), create: true,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if derr := b.detachDisk(context.WithoutCancel(ctx), d); derr != nil {
			err = errors.Join(err, derr)
			res = nil
		}
	}()
	fs, err := mountDisk(d.device, false)
	if err != nil {
		return nil, err
	}
	st, err := v.fill(ctx, job, fs)
	if cerr := fs.close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	desc, err := b.readDescriptor(ctx, job.desc)
	if err != nil {
		return nil, err
	}
	return &layerResult{desc: desc, stats: st}, nil
}

// fill unpacks the diff onto the mounted disk; the index is uploaded beside the descriptor and the stash (on
// the disk while the unpack runs, since files are renamed into it) is moved to the layer's folder.
func (v *vmDiskData) fill(ctx context.Context, job *layerJob, fs *mountedFS) (fillStats, error) {
	index, err := v.b.newUpload(ctx, path.Join(job.tmp, diffIndexFile))
	if err != nil {
		return fillStats{}, err
	}
	defer index.abort()
	stash := ".vice-stash-" + randomSuffix()
	keep := &diffKeeping{stash: procFDPath(fs.fd(), stash), reserved: stash}
	st, err := fill(ctx, job.compression, job.diff, index, func(r io.Reader, w io.Writer) (int64, error) {
		keep.index = w
		return unpackTarAt(ctx, r, fs.fd(), keep, true)
	})
	if err != nil {
		return fillStats{}, err
	}
	if err := v.moveStash(ctx, fs, stash, path.Join(job.tmp, diffStashDir)); err != nil {
		return fillStats{}, err
	}
	return st, nil
}

// readDiff attaches the layer's disk read-only and reads its files through a mount that lives as long as the
// reader.
func (v *vmDiskData) readDiff(ctx context.Context, desc, index, diffID string, diffSize int64) (io.ReadCloser, error) {
	b := v.b
	var p object.DatastorePath
	if !p.FromString(desc) || p.Datastore != b.where.datastore.Name() {
		return nil, fmt.Errorf("%q is not a path on datastore %s: %w", desc, b.where.datastore.Name(), errdefs.ErrInvalid)
	}
	folder := path.Dir(p.Path)
	d, err := b.attachDisk(ctx, diskAttach{file: desc, readOnly: true})
	if err != nil {
		return nil, err
	}
	release := func() error { return b.detachDisk(context.WithoutCancel(ctx), d) }
	fs, err := mountDisk(d.device, true)
	if err != nil {
		return nil, errors.Join(err, release())
	}
	release = func() error { return errors.Join(fs.close(), b.detachDisk(context.WithoutCancel(ctx), d)) }
	stashed, err := v.stashedFiles(ctx, path.Join(folder, diffStashDir))
	if err != nil {
		return nil, errors.Join(err, release())
	}
	idx, err := b.openFile(ctx, path.Join(folder, index))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("the diff index of %s: %w", desc, err), release())
	}
	files := newFDLayerFiles(fs.fd(), func(k int) (*os.File, error) {
		if !stashed[k] {
			return nil, os.ErrNotExist
		}
		return v.download(ctx, path.Join(folder, diffStashDir, strconv.Itoa(k)))
	})
	r, err := newDiffReader(idx, files, diffID, diffSize)
	if err != nil {
		idx.Close()
		return nil, errors.Join(err, release())
	}
	return &releasingReader{ReadCloser: r, release: release}, nil
}

// releasingReader runs release once the reader is closed.
type releasingReader struct {
	io.ReadCloser
	release func() error
}

func (r *releasingReader) Close() error {
	return errors.Join(r.ReadCloser.Close(), r.release())
}

// moveStash uploads the files of the stash directory on the disk (if the unpack made one) to the folder rel,
// with their list, and removes the directory from the disk.
func (v *vmDiskData) moveStash(ctx context.Context, fs *mountedFS, name, rel string) error {
	dir, err := os.Open(procFDPath(fs.fd(), name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the diff's stash: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return fmt.Errorf("the diff's stash: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	for _, n := range names {
		f, err := os.Open(procFDPath(fs.fd(), name+"/"+n))
		if err != nil {
			return fmt.Errorf("the diff's stash: %w", errdefs.Classed(err, errdefs.ErrSystem))
		}
		err = v.b.uploadStream(ctx, path.Join(rel, n), f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := v.b.uploadFile(ctx, path.Join(rel, stashList), []byte(strings.Join(names, "\n")+"\n")); err != nil {
		return err
	}
	return removeAllAt(fs.fd(), name)
}

// stashedFiles reads the stash's list in folder rel: the numbers of the files there (none without a stash).
func (v *vmDiskData) stashedFiles(ctx context.Context, rel string) (map[int]bool, error) {
	data, err := v.b.readFile(ctx, path.Join(rel, stashList), maxLayerRecordBytes)
	if errdefs.Is(err, errdefs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for _, f := range strings.Fields(string(data)) {
		if k, err := strconv.Atoi(f); err == nil {
			out[k] = true
		}
	}
	return out, nil
}

// download copies the file rel into a temporary file (already unlinked) and returns it at its start.
func (v *vmDiskData) download(ctx context.Context, rel string) (*os.File, error) {
	rc, err := v.b.openFile(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "vice-stash-")
	if err != nil {
		return nil, errdefs.Classed(err, errdefs.ErrSystem)
	}
	os.Remove(f.Name())
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return nil, classify(err, "read "+rel)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, errdefs.Classed(err, errdefs.ErrSystem)
	}
	return f, nil
}

// procFDPath reaches name below the directory open as fd, which may be mounted where no path leads.
func procFDPath(fd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + name
}

// upload is a file written locally and sent to the datastore when it is closed.
type upload struct {
	*os.File
	ctx  context.Context
	b    *Backend
	rel  string
	done bool
}

func (b *Backend) newUpload(ctx context.Context, rel string) (*upload, error) {
	f, err := os.CreateTemp("", "vice-upload-")
	if err != nil {
		return nil, errdefs.Classed(err, errdefs.ErrSystem)
	}
	os.Remove(f.Name())
	return &upload{File: f, ctx: ctx, b: b, rel: rel}, nil
}

// Close sends the file.
func (u *upload) Close() error {
	if u.done {
		return nil
	}
	u.done = true
	defer u.File.Close()
	if _, err := u.File.Seek(0, io.SeekStart); err != nil {
		return errdefs.Classed(err, errdefs.ErrSystem)
	}
	return u.b.uploadStream(u.ctx, u.rel, u.File)
}

// abort drops the file unsent, if it was not sent.
func (u *upload) abort() {
	if !u.done {
		u.done = true
		u.File.Close()
	}
}

// uploadStream writes the file rel from f, replacing it.
func (b *Backend) uploadStream(ctx context.Context, rel string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return errdefs.Classed(err, errdefs.ErrSystem)
	}
	up := soap.DefaultUpload
	up.ContentLength = st.Size()
	if err := b.where.datastore.Upload(ctx, f, rel, &up); err != nil {
		return classify(err, "upload "+b.where.datastore.Path(rel))
	}
	return nil
}

// parentOf is the datastore path of the parent of the disk desc, from its descriptor's hint (parenthint.go).
func (v *vmDiskData) parentOf(ctx context.Context, desc string) (string, error) {
	var p object.DatastorePath
	if !p.FromString(desc) {
		return "", fmt.Errorf("%q is not a datastore path: %w", desc, errdefs.ErrInvalid)
	}
	d, err := v.b.readDescriptor(ctx, p.Path)
	if err != nil {
		return "", err
	}
	return parentPath(desc, d.ParentFileNameHint, func() ([]datastoreNames, error) { return v.b.datastoreNames(ctx) })
}
