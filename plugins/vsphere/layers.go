package vsphere

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// The image store (sdk.LayerStore): layer disks in VIC/<vch>/images (see layout.go), each written in a
// temporary folder and committed by renaming the folder, so a layer's folder exists only once it is complete.
// Layers are immutable, so complete ones are cached; the folder listing is read on every ListLayers, so
// layers written or removed by another endpoint are seen.

const maxLayerRecordBytes = 64 << 10

// layerState is the image store's in-process state.
type layerState struct {
	initMu sync.Mutex
	data   diskData // set once the store is prepared
	// local is data when the datastore's files are on this machine, for readers that do not wait for the
	// store (a container's log).
	local atomic.Pointer[localDiskData]

	commitMu sync.Mutex // a commit and a removal never interleave, so no layer is removed under a new child

	scratchMu sync.Mutex
	scratch   *Descriptor // the scratch disk, once seen; it is never removed

	cacheMu sync.Mutex
	cache   map[string]*layerFile

	endpoint endpointState // the VM disks are attached to while they are written (block disks)

	writingMu sync.Mutex
	writing   map[string]chan struct{} // the layers being written in this process; closed when done
	active    int                      // layer writes under way
	idle      *time.Timer              // since active fell to 0: gives memory back (startWrite)
}

// layerFile is layer.json: the layer's LayerInfo and what reading it back needs.
type layerFile struct {
	models.LayerInfo
	Compression string `json:"compression"`
	DiffIndex   string `json:"diffIndex,omitempty"` // the diff's index (diffindex.go)
	DiffFile    string `json:"diffFile,omitempty"`  // or, in layers written before the index, the stream as sent
	CID         string `json:"cid"`                 // the disk's content ID, as its descriptor has it
}

func (f *layerFile) info() *models.LayerInfo {
	i := f.LayerInfo
	return &i
}

// prepareLayers makes sure the image store's folder exists and sweeps what a crashed write left behind: the
// disks it left attached to the endpoint VM (when disks are written through it), then the temporary folders.
// It runs once per process, on first use; a failure is retried by the next call.
func (b *Backend) prepareLayers(ctx context.Context) (diskData, error) {
	s := &b.layers
	s.initMu.Lock()
	defer s.initMu.Unlock()
	if s.data != nil {
		return s.data, nil
	}
	images := ImagesFolder(b.cfg.VCHName)
	if err := b.mkdirAll(ctx, images); err != nil {
		return nil, err
	}
	data, err := b.newDiskData(ctx)
	if err != nil {
		return nil, err
	}
	if _, attached := data.(*vmDiskData); attached {
		if err := b.detachLeftovers(ctx); err != nil {
			return nil, err
		}
	}
	names, err := b.subfolders(ctx, images)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if isTempFolder(name) {
			b.log.Info("removing an interrupted image store write", "folder", name)
			if err := b.deleteFile(ctx, path.Join(images, name)); err != nil && !errdefs.Is(err, errdefs.ErrNotFound) {
				return nil, err
			}
		}
	}
	s.data = data
	if l, ok := data.(*localDiskData); ok {
		s.local.Store(l)
	}
	return data, nil
}

// GetLayer returns one complete layer.
func (b *Backend) GetLayer(ctx context.Context, id string) (*models.LayerInfo, error) {
	if err := checkLayerID("layer", id); err != nil {
		return nil, err
	}
	f, err := b.layerFile(ctx, id)
	if err != nil {
		return nil, err
	}
	return f.info(), nil
}

// layerFile returns the record of layer id, from the cache or the datastore.
func (b *Backend) layerFile(ctx context.Context, id string) (*layerFile, error) {
	s := &b.layers
	s.cacheMu.Lock()
	f, ok := s.cache[id]
	s.cacheMu.Unlock()
	if ok {
		return f, nil
	}
	f, err := b.readLayerFile(ctx, id)
	if err != nil {
		return nil, err
	}
	b.cacheLayer(f)
	return f, nil
}

// readLayerFile reads layer.json from the datastore, bypassing the cache.
func (b *Backend) readLayerFile(ctx context.Context, id string) (*layerFile, error) {
	rel := path.Join(ImagesFolder(b.cfg.VCHName), id, layerRecord)
	data, err := b.readFile(ctx, rel, maxLayerRecordBytes)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	var f layerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("layer %s: decode %s: %v: %w", id, rel, err, errdefs.ErrSystem)
	}
	if f.ID == nil || *f.ID != id || f.Size == nil {
		return nil, fmt.Errorf("layer %s: %s is not this layer's record: %w", id, rel, errdefs.ErrSystem)
	}
	return &f, nil
}

func (b *Backend) cacheLayer(f *layerFile) {
	s := &b.layers
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cache == nil {
		s.cache = map[string]*layerFile{}
	}
	s.cache[*f.ID] = f
}

func (b *Backend) forgetLayer(id string) {
	s := &b.layers
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	delete(s.cache, id)
}

// ListLayers returns the complete layers, ordered by ID. Temporary folders (writes in progress) and the
// scratch disk are not layers.
func (b *Backend) ListLayers(ctx context.Context) ([]*models.LayerInfo, error) {
	if _, err := b.prepareLayers(ctx); err != nil {
		return nil, err
	}
	names, err := b.subfolders(ctx, ImagesFolder(b.cfg.VCHName))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	present := map[string]bool{}
	out := []*models.LayerInfo{}
	for _, id := range names {
		if !layerIDPattern.MatchString(id) {
			continue
		}
		f, err := b.layerFile(ctx, id)
		if errdefs.Is(err, errdefs.ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		present[id] = true
		out = append(out, f.info())
	}
	// Forget what another endpoint removed.
	b.layers.cacheMu.Lock()
	for id := range b.layers.cache {
		if !present[id] {
			delete(b.layers.cache, id)
		}
	}
	b.layers.cacheMu.Unlock()
	return out, nil
}

// ReadLayerDiff streams the layer's diff as the uncompressed tar it was written as.
func (b *Backend) ReadLayerDiff(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := checkLayerID("layer", id); err != nil {
		return nil, err
	}
	f, err := b.layerFile(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.DiffIndex != "" {
		data, err := b.prepareLayers(ctx)
		if err != nil {
			return nil, err
		}
		rc, err := data.readDiff(ctx, b.where.datastore.Path(LayerDescriptor(b.cfg.VCHName, id)), f.DiffIndex, f.DiffID, f.DiffSize)
		if err != nil {
			return nil, fmt.Errorf("layer %s diff: %w", id, err)
		}
		return rc, nil
	}
	rc, err := b.openFile(ctx, path.Join(ImagesFolder(b.cfg.VCHName), id, f.DiffFile))
	if err != nil {
		return nil, fmt.Errorf("layer %s diff: %w", id, err)
	}
	if f.Compression != "gzip" {
		return rc, nil
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("layer %s: kept diff is not gzip: %w", id, errdefs.Classed(err, errdefs.ErrSystem))
	}
	return gunzipReader{zr, rc}, nil
}

// gunzipReader decompresses a download and closes it when done.
type gunzipReader struct {
	*gzip.Reader
	body io.Closer
}

func (g gunzipReader) Close() error {
	g.Reader.Close()
	return g.body.Close()
}

// RemoveLayer removes a layer that no other layer names as its parent. The folder is first renamed to a
// temporary name, so the layer disappears at once and a crash midway leaves only a folder the next start
// sweeps; then its disk and the folder are deleted.
func (b *Backend) RemoveLayer(ctx context.Context, id string) error {
	if err := checkLayerID("layer", id); err != nil {
		return err
	}
	if _, err := b.prepareLayers(ctx); err != nil {
		return err
	}
	s := &b.layers
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if _, err := b.readLayerFile(ctx, id); err != nil {
		b.forgetLayer(id)
		return err
	}
	all, err := b.ListLayers(ctx)
	if err != nil {
		return err
	}
	for _, l := range all {
		if l.Parent == id {
			return fmt.Errorf("layer %s is the parent of layer %s: %w", id, *l.ID, errdefs.ErrConflict)
		}
	}
	images := ImagesFolder(b.cfg.VCHName)
	tmp := path.Join(images, tmpPrefix+id+"-"+randomSuffix())
	if err := b.move(ctx, path.Join(images, id), tmp); err != nil {
		return fmt.Errorf("remove layer %s: %w", id, err)
	}
	b.forgetLayer(id)
	// The layer is gone for every reader now; what follows only frees the space.
	ctx = context.WithoutCancel(ctx)
	if err := b.deleteDisk(ctx, path.Join(tmp, id+".vmdk")); err != nil {
		b.log.Warn("could not delete a removed layer's disk; its folder goes anyway", "layer", id, "err", err)
	}
	b.removeFolderQuietly(ctx, tmp)
	b.log.Info("removed layer", "layer", id)
	return nil
}
