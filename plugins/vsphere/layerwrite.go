package vsphere

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"runtime/debug"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// WriteLayer creates layer id as a child of parent ("" for a child of the scratch disk) from a diff stream.
// Everything is written in a temporary folder, VIC/<vch>/images/.tmp-<id>-<random>, which a failure removes
// and a success renames to <id>: the rename is the commit. How the disk is made and filled is diskData's
// (writeLayer): into a directory, the diff is unpacked first and the parent looked for only then, so a pull
// writes consecutive layers at once; onto a real disk, which is a child of its parent's, the parent is waited
// for first. Either way a parent that this backend is still writing is waited for, and a child is committed
// after it.
func (b *Backend) WriteLayer(ctx context.Context, id, parent, compression string, diff io.Reader) (*models.LayerInfo, error) {
	if err := checkLayerID("layer", id); err != nil {
		return nil, err
	}
	if parent != "" {
		if err := checkLayerID("parent", parent); err != nil {
			return nil, err
		}
	}
	if err := checkCompression(compression); err != nil {
		return nil, err
	}
	if compression == "" {
		compression = "none"
	}
	data, err := b.prepareLayers(ctx)
	if err != nil {
		return nil, err
	}
	switch _, err := b.readLayerFile(ctx, id); {
	case err == nil:
		return nil, fmt.Errorf("layer %s exists: %w", id, errdefs.ErrConflict)
	case !errdefs.Is(err, errdefs.ErrNotFound):
		return nil, err
	}
	done := b.layers.startWrite(id)
	defer done()

	images := ImagesFolder(b.cfg.VCHName)
	tmp := path.Join(images, tmpPrefix+id+"-"+randomSuffix())
	if err := b.mkdirAll(ctx, tmp); err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			b.removeFolderQuietly(context.WithoutCancel(ctx), tmp)
		}
	}()
	job := &layerJob{id: id, parent: parent, tmp: tmp, desc: path.Join(tmp, id+".vmdk"), compression: compression, diff: diff}
	res, err := data.writeLayer(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	st, desc := res.stats, res.desc
	rec := &layerFile{
		LayerInfo: models.LayerInfo{
			ID: &id, Parent: parent, Size: &st.size, DiffSize: st.diffSize, DiffID: st.diffID,
			Disk: b.where.datastore.Path(LayerDescriptor(b.cfg.VCHName, id)), Created: time.Now().Unix(),
		},
		Compression: compression,
		DiffIndex:   diffIndexFile,
		CID:         fmt.Sprintf("%08x", desc.CID),
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("layer %s: encode record: %w", id, errdefs.Classed(err, errdefs.ErrSystem))
	}
	if err := b.uploadFile(ctx, path.Join(tmp, layerRecord), raw); err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	if err := b.commitLayer(ctx, tmp, rec); err != nil {
		return nil, err
	}
	committed = true
	b.log.Info("wrote layer", "layer", id, "parent", parent, "diffId", st.diffID, "size", st.size)
	return rec.info(), nil
}

// startWrite notes that layer id is being written in this process, for waitWrite; the function returned
// ends the note. A second write of the same layer at once is not noted (one of them wins at the commit).
func (s *layerState) startWrite(id string) func() {
	s.writingMu.Lock()
	defer s.writingMu.Unlock()
	s.active++
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
	var ch chan struct{}
	if _, ok := s.writing[id]; !ok {
		if s.writing == nil {
			s.writing = map[string]chan struct{}{}
		}
		ch = make(chan struct{})
		s.writing[id] = ch
	}
	return func() {
		s.writingMu.Lock()
		defer s.writingMu.Unlock()
		if ch != nil {
			delete(s.writing, id)
			close(ch)
		}
		if s.active--; s.active == 0 {
			s.idle = time.AfterFunc(releaseAfter, debug.FreeOSMemory)
		}
	}
}

// releaseAfter is how long the layer store stays without writes before the memory its writes went
// through (read-ahead chunks, decompressor and transport buffers, tens of MiB for a pull) is given back to
// the system, instead of staying in the process's heap.
const releaseAfter = 3 * time.Second

// waitWrite waits while layer id is being written in this process (it may then exist, or not).
func (s *layerState) waitWrite(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	s.writingMu.Lock()
	ch := s.writing[id]
	s.writingMu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parentDisk is the descriptor and folder name of the disk a new layer is a child of.
func (b *Backend) parentDisk(ctx context.Context, data diskData, parent string) (*Descriptor, string, error) {
	if parent == "" {
		d, err := b.ensureScratch(ctx, data)
		return d, ScratchID, err
	}
	// Layers never change, so a cached record will do; the commit checks that the parent is still there.
	f, err := b.layerFile(ctx, parent)
	if err != nil {
		return nil, "", fmt.Errorf("parent: %w", err)
	}
	d, err := b.layerDescriptor(ctx, f)
	return d, parent, err
}

// layerDescriptor is what a child's descriptor needs of the complete layer f's: its content ID, which the
// layer's record has (a layer's disk never changes once complete), or, for a layer recorded without it,
// the descriptor as read.
func (b *Backend) layerDescriptor(ctx context.Context, f *layerFile) (*Descriptor, error) {
	if cid, err := parseCID(f.CID); err == nil {
		return &Descriptor{CID: cid}, nil
	}
	return b.readDescriptor(ctx, LayerDescriptor(b.cfg.VCHName, *f.ID))
}

// commitLayer renames the complete temporary folder to the layer's own. Under commitMu, the parent is checked
// again (it may have been removed meanwhile); another endpoint committing the same layer first makes the
// rename fail, which is told apart from other failures by looking for the winner's record.
func (b *Backend) commitLayer(ctx context.Context, tmp string, rec *layerFile) error {
	id := *rec.ID
	s := &b.layers
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if rec.Parent != "" {
		if _, err := b.readLayerFile(ctx, rec.Parent); err != nil {
			return fmt.Errorf("layer %s: parent: %w", id, err)
		}
	}
	err := b.move(ctx, tmp, path.Join(ImagesFolder(b.cfg.VCHName), id))
	if err != nil {
		if _, rerr := b.readLayerFile(ctx, id); rerr == nil || errdefs.Is(err, errdefs.ErrConflict) {
			return fmt.Errorf("layer %s exists: %w", id, errdefs.ErrConflict)
		}
		return fmt.Errorf("layer %s: commit: %w", id, err)
	}
	b.cacheLayer(rec)
	return nil
}

// layerJob is one layer write, as WriteLayer hands it to diskData.
type layerJob struct {
	id, parent  string
	tmp         string // the temporary folder, relative to the datastore's root
	desc        string // the disk's descriptor in it
	compression string // "none" or "gzip"
	diff        io.Reader
}

// layerResult is what a layer write made: the disk's descriptor and what the diff held.
type layerResult struct {
	desc  *Descriptor
	stats fillStats
}

// writeLayer makes the layer's disk while the diff unpacks into its directory; once the parent is there,
// the disk's descriptor is rewritten to name it.
func (l *localDiskData) writeLayer(ctx context.Context, job *layerJob) (*layerResult, error) {
	b := l.b
	// vSphere makes the disk while the diff unpacks; its descriptor names the parent once that is there.
	type madeDisk struct {
		d   *Descriptor
		err error
	}
	madeCh := make(chan madeDisk, 1)
	go func() {
		d, err := b.makeDisk(ctx, job.desc)
		madeCh <- madeDisk{d, err}
	}()
	st, err := l.fill(ctx, job)
	made := <-madeCh // before anything returns: a failure removes the folder it makes the disk in
	if err != nil {
		return nil, err
	}
	if made.err != nil {
		return nil, made.err
	}
	// A parent that this backend is still writing is waited for; then it must be there.
	if err := b.layers.waitWrite(ctx, job.parent); err != nil {
		return nil, err
	}
	parentDesc, parentID, err := b.parentDisk(ctx, l, job.parent)
	if err != nil {
		return nil, err
	}
	// The hint is relative, so it stays right when the folder is renamed: the parent is a sibling folder.
	desc, err := b.describeDisk(ctx, job.desc, made.d, parentDesc, "../"+parentID+"/"+parentID+".vmdk")
	if err != nil {
		return nil, err
	}
	return &layerResult{desc: desc, stats: st}, nil
}

// fill unpacks the diff into the disk's directory, with its index and stash beside the descriptor.
func (l *localDiskData) fill(ctx context.Context, job *layerJob) (fillStats, error) {
	desc := l.b.where.datastore.Path(job.desc)
	if err := l.format(ctx, desc); err != nil {
		return fillStats{}, err
	}
	local, _ := l.local(desc) // format checked it
	index, err := l.keep(desc, diffIndexFile)
	if err != nil {
		return fillStats{}, err
	}
	defer index.Close()
	return fill(ctx, job.compression, job.diff, index, func(r io.Reader, index io.Writer) (int64, error) {
		return unpackTar(ctx, r, DiskDataDir(local), &diffKeeping{index: index, stash: diffStash(local)})
	})
}

type fillStats struct {
	size     int64  // bytes of the unpacked regular files
	diffSize int64  // bytes of the uncompressed tar
	diffID   string // "sha256:" + hex of the uncompressed tar
}

// fill reads the diff stream once: one goroutine reads it, decompresses and hashes it, a chunk ahead of
// unpack into the disk, which writes the diff's index to index as it goes (so the diff can be read back
// without a second copy of it). index is closed, and its error reported, once the unpack is done.
func fill(ctx context.Context, compression string, diff io.Reader, index io.WriteCloser,
	unpack func(r io.Reader, index io.Writer) (int64, error)) (fillStats, error) {
	src := &sourceReader{ctx: ctx, r: diff}
	var tarStream io.Reader = src
	if compression == "gzip" {
		// The decompressor reads a *bufio.Reader directly (and fastest). A small one: reads at least as large
		// (a stored block's data, copied into the window) bypass it.
		br := bufio.NewReaderSize(src, 4096)
		zr, err := gzip.NewReader(br)
		if err != nil {
			if src.err != nil {
				return fillStats{}, fmt.Errorf("read the diff stream: %w", streamClass(src.err))
			}
			return fillStats{}, fmt.Errorf("diff stream is not gzip: %w", errdefs.Classed(err, errdefs.ErrInvalid))
		}
		defer zr.Close()
		tarStream = &drainAfter{r: zr, rest: br}
	}
	h := &hashCounter{h: sha256.New()}
	ahead := readAhead(&streamErrors{r: tarStream, src: src}, func(b []byte) { _, _ = h.Write(b) })
	defer ahead.Close()
	size, err := unpack(ahead, index)
	// The unpack sees a broken stream as a broken tar; say what really happened.
	if ferr := ahead.failure(); ferr != nil {
		return fillStats{}, ferr
	}
	if err != nil {
		return fillStats{}, err
	}
	if err := index.Close(); err != nil {
		return fillStats{}, fmt.Errorf("write the diff index: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	// unpack read the stream to its end, so the producer is done and h complete.
	return fillStats{size: size, diffSize: h.n, diffID: "sha256:" + hex.EncodeToString(h.h.Sum(nil))}, nil
}

// drainAfter reads r, then what is left of rest (the compressed stream after the compressed data) to its end.
type drainAfter struct {
	r, rest io.Reader
	drained bool
}

func (d *drainAfter) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == io.EOF && !d.drained {
		d.drained = true
		if _, derr := io.Copy(io.Discard, d.rest); derr != nil {
			return n, derr
		}
	}
	return n, err
}

// streamErrors classes the failures of reading the diff stream: the stream's own (the request broke off, or
// was cancelled) or its contents' (not gzip after all).
type streamErrors struct {
	r   io.Reader
	src *sourceReader
}

func (s *streamErrors) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case s.src.err != nil:
		err = fmt.Errorf("read the diff stream: %w", streamClass(s.src.err))
	default:
		err = fmt.Errorf("diff stream: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	return n, err
}

// sourceReader remembers the diff stream's own failure and stops when ctx is cancelled.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

type hashCounter struct {
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// streamClass classes a failure of the diff stream: a cancelled request keeps its class; a stream that broke
// off otherwise is an incomplete, hence invalid, upload.
func streamClass(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if s := errdefs.Sentinel(err); s != errdefs.ErrSystem {
		return err
	}
	return errdefs.Classed(err, errdefs.ErrInvalid)
}
