package pltest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

var _ sdk.LayerStore = (*Backend)(nil)

// layer is one complete layer of the in-memory image store: the stream as sent and its uncompressed diff.
type layer struct {
	info   *models.LayerInfo
	stream []byte
	diff   []byte
}

// ListLayers returns the complete layers, ordered by id.
func (b *Backend) ListLayers(context.Context) ([]*models.LayerInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*models.LayerInfo, 0, len(b.layers))
	for _, l := range b.layers {
		out = append(out, l.info)
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].ID < *out[j].ID })
	return out, nil
}

// GetLayer returns one complete layer.
func (b *Backend) GetLayer(_ context.Context, id string) (*models.LayerInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.layers[id]
	if !ok {
		return nil, fmt.Errorf("layer %s: %w", id, errdefs.ErrNotFound)
	}
	return l.info, nil
}

// WriteLayer reads the whole stream, checks that it is a tar, and only then makes the layer visible. It does
// not wait for a parent being written at the same time: a missing parent is refused at once.
func (b *Backend) WriteLayer(ctx context.Context, id, parent, compression string, diff io.Reader) (*models.LayerInfo, error) {
	if err := b.checkWrite(id, parent); err != nil {
		return nil, err
	}
	stream, err := io.ReadAll(diff)
	if err != nil {
		return nil, fmt.Errorf("layer %s: read the diff: %w", id, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw := stream
	if compression == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(stream))
		if err != nil {
			return nil, fmt.Errorf("layer %s: %v: %w", id, err, errdefs.ErrInvalid)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("layer %s: %v: %w", id, err, errdefs.ErrInvalid)
		}
	}
	size, err := tarSize(raw)
	if err != nil {
		return nil, fmt.Errorf("layer %s: not a tar: %v: %w", id, err, errdefs.ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkWriteLocked(id, parent); err != nil {
		return nil, err
	}
	info := &models.LayerInfo{
		ID: &id, Parent: parent, Size: &size, DiffID: fmt.Sprintf("sha256:%x", sha256.Sum256(raw)),
		DiffSize: int64(len(raw)), Created: time.Now().Unix(), Disk: "[LocalDS_0] VIC/test/images/" + id + "/" + id + ".vmdk",
	}
	b.layers[id] = &layer{info: info, stream: stream, diff: raw}
	b.writes[id]++
	return info, nil
}

func (b *Backend) checkWrite(id, parent string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.checkWriteLocked(id, parent)
}

func (b *Backend) checkWriteLocked(id, parent string) error {
	if _, ok := b.layers[id]; ok {
		return fmt.Errorf("layer %s exists: %w", id, errdefs.ErrConflict)
	}
	if _, ok := b.layers[parent]; parent != "" && !ok {
		return fmt.Errorf("parent layer %s: %w", parent, errdefs.ErrNotFound)
	}
	return nil
}

// tarSize is the sum of the sizes of a tar's files, or the tar's error.
func tarSize(raw []byte) (int64, error) {
	tr := tar.NewReader(bytes.NewReader(raw))
	var size int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return size, nil
		}
		if err != nil {
			return 0, err
		}
		size += h.Size
	}
}

// RemoveLayer removes a layer that is nobody's parent.
func (b *Backend) RemoveLayer(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.layers[id]; !ok {
		return fmt.Errorf("layer %s: %w", id, errdefs.ErrNotFound)
	}
	for _, l := range b.layers {
		if l.info.Parent == id {
			return fmt.Errorf("layer %s is the parent of %s: %w", id, *l.info.ID, errdefs.ErrConflict)
		}
	}
	delete(b.layers, id)
	return nil
}

// ReadLayerDiff returns the uncompressed diff as written.
func (b *Backend) ReadLayerDiff(_ context.Context, id string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.layers[id]
	if !ok {
		return nil, fmt.Errorf("layer %s: %w", id, errdefs.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(l.diff)), nil
}

// LayerWrites reports how many times layer id was written.
func (b *Backend) LayerWrites(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes[id]
}

// LayerStream returns the stream layer id was written from, as sent.
func (b *Backend) LayerStream(id string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.layers[id]; ok {
		return l.stream
	}
	return nil
}
