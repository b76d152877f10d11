package vsphere

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// WriteLayer creates layer id as a child of parent ("" for a child of the scratch disk) from a diff stream.
// Everything is written in a temporary folder, VIC/<vch>/images/.tmp-<id>-<random>, which a failure removes
// and a success renames to <id>: the rename is the commit.
func (b *Backend) WriteLayer(ctx context.Context, id, parent, compression string, diff io.Reader) (*models.LayerInfo, error) {
	if err := checkLayerID("layer", id); err != nil {
		return nil, err
	}
	if parent != "" {
		if err := checkLayerID("parent", parent); err != nil {
			return nil, err
		}
	}
	diffFile, err := DiffFile(compression)
	if err != nil {
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
	parentDesc, parentID, err := b.parentDisk(ctx, data, parent)
	if err != nil {
		return nil, err
	}

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
	tmpDesc := path.Join(tmp, id+".vmdk")
	// The hint is relative, so it stays right when the folder is renamed: the parent is a sibling folder.
	desc, err := b.createDisk(ctx, tmpDesc, parentDesc, "../"+parentID+"/"+parentID+".vmdk")
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	st, err := fill(ctx, data, b.where.datastore.Path(tmpDesc), diffFile, compression, diff)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	rec := &layerFile{
		LayerInfo: models.LayerInfo{
			ID: &id, Parent: parent, Size: &st.size, DiffSize: st.diffSize, DiffID: st.diffID,
			Disk: b.where.datastore.Path(LayerDescriptor(b.cfg.VCHName, id)), Created: time.Now().Unix(),
		},
		Compression: compression,
		DiffFile:    diffFile,
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

// parentDisk is the descriptor and folder name of the disk a new layer is a child of.
func (b *Backend) parentDisk(ctx context.Context, data diskData, parent string) (*Descriptor, string, error) {
	if parent == "" {
		d, err := b.ensureScratch(ctx, data)
		return d, ScratchID, err
	}
	if _, err := b.readLayerFile(ctx, parent); err != nil {
		return nil, "", fmt.Errorf("parent: %w", err)
	}
	d, err := b.readDescriptor(ctx, LayerDescriptor(b.cfg.VCHName, parent))
	return d, parent, err
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

type fillStats struct {
	size     int64  // bytes of the unpacked regular files
	diffSize int64  // bytes of the uncompressed tar
	diffID   string // "sha256:" + hex of the uncompressed tar
}

// fill reads the diff stream once: it is kept as sent beside the disk while being decompressed, hashed and
// unpacked into the disk.
func fill(ctx context.Context, data diskData, desc, diffFile, compression string, diff io.Reader) (fillStats, error) {
	kept, err := data.keep(ctx, desc, diffFile)
	if err != nil {
		return fillStats{}, err
	}
	src := &sourceReader{ctx: ctx, r: diff}
	sink := &sinkWriter{w: kept}
	raw := io.TeeReader(src, sink)
	st, err := fillFrom(ctx, data, desc, compression, raw)
	if cerr := kept.Close(); err == nil && cerr != nil {
		sink.err = cerr
	}
	// The tar reader sees a broken source or sink as a broken tar; say what really happened.
	switch {
	case src.err != nil:
		return fillStats{}, fmt.Errorf("read the diff stream: %w", streamClass(src.err))
	case sink.err != nil:
		return fillStats{}, fmt.Errorf("keep the diff stream: %w", errdefs.Classed(sink.err, errdefs.ErrSystem))
	}
	return st, err
}

func fillFrom(ctx context.Context, data diskData, desc, compression string, raw io.Reader) (fillStats, error) {
	tarStream := raw
	if compression == "gzip" {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return fillStats{}, fmt.Errorf("diff stream is not gzip: %w", errdefs.Classed(err, errdefs.ErrInvalid))
		}
		defer zr.Close()
		tarStream = zr
	}
	h := &hashCounter{h: sha256.New()}
	tarTee := io.TeeReader(tarStream, h)
	size, err := data.unpack(ctx, desc, tarTee)
	if err != nil {
		return fillStats{}, err
	}
	// What follows the end-of-archive blocks (record padding) is part of the diff and of its digest.
	if _, err := io.Copy(io.Discard, tarTee); err != nil {
		return fillStats{}, fmt.Errorf("diff stream after the tar: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fillStats{}, fmt.Errorf("diff stream after the tar: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	return fillStats{size: size, diffSize: h.n, diffID: "sha256:" + hex.EncodeToString(h.h.Sum(nil))}, nil
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

// sinkWriter remembers a failure to keep the stream.
type sinkWriter struct {
	w   io.Writer
	err error
}

func (s *sinkWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
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
