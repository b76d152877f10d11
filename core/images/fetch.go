package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// layerJob is one layer of a pull.
type layerJob struct {
	layer  imagec.Layer
	chain  string
	parent string
	short  string // the 12 hex of the blob digest that progress lines are keyed by
	info   *models.LayerInfo
	fl     *flight // the flight this pull owns, or waits on
	owner  bool
	file   string
	done   chan error // the download's outcome, for owned layers
}

// fetchLayers makes sure every layer of img is in the layer store: layers there already are skipped, layers
// another pull is writing are waited for, the rest download (a few at a time) into temporary files while
// earlier ones are written to the port layer in order, parent before child.
func (s *Service) fetchLayers(ctx context.Context, img *imagec.Image, out ProgressFunc) ([]LayerRecord, error) {
	existing, err := s.pl.ListLayers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	have := make(map[string]*models.LayerInfo, len(existing))
	for _, l := range existing {
		have[*l.ID] = l
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := make([]*layerJob, len(img.Layers))
	parent := ""
	for i, l := range img.Layers {
		j := &layerJob{layer: l, parent: parent, chain: chainID(parent, l.DiffID.String()), short: l.Digest.Hex[:12]}
		parent, jobs[i] = j.chain, j
		if j.info = have[j.chain]; j.info != nil {
			out(status(j.short, "Already exists"))
			continue
		}
		j.fl, j.owner = s.flights.claim(j.chain)
		out(Message{ID: j.short, Status: "Pulling fs layer", Detail: zeroProgress()})
	}

	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		for _, j := range jobs {
			if j.file != "" {
				os.Remove(j.file)
			}
		}
	}()
	for _, j := range jobs {
		if j.owner {
			j.done = make(chan error, 1)
			wg.Go(func() { j.done <- s.download(ctx, img, j, out) })
		}
	}

	records := make([]LayerRecord, len(jobs))
	for i, j := range jobs {
		if err := s.settle(ctx, j, out); err != nil {
			for _, rest := range jobs[i:] {
				if rest.owner {
					s.flights.finish(rest.chain, rest.fl, nil, err)
					rest.owner = false
				}
			}
			return nil, err
		}
		records[i] = LayerRecord{ChainID: j.chain, DiffID: j.layer.DiffID.String(), Size: layerSize(j.info),
			Digest: j.layer.Digest.String()}
	}
	return records, nil
}

// settle waits for one layer to be complete in the layer store, writing it when this pull owns it.
func (s *Service) settle(ctx context.Context, j *layerJob, out ProgressFunc) error {
	switch {
	case j.info != nil:
		return nil
	case !j.owner:
		info, err := j.fl.wait(ctx)
		if err != nil {
			return fmt.Errorf("layer %s (written by another pull): %w", j.short, err)
		}
		j.info = info
		out(status(j.short, "Already exists"))
		return nil
	}
	select {
	case err := <-j.done:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	info, err := s.writeLayerFile(ctx, j.file, j.chain, j.parent, j.layer.DiffID.String(), func(r io.Reader) io.Reader {
		return newProgressReader(r, j.short, "Extracting", j.layer.Size, out)
	})
	s.flights.finish(j.chain, j.fl, info, err)
	j.owner = false
	if err != nil {
		return err
	}
	j.info = info
	out(status(j.short, "Pull complete"))
	return nil
}

// download copies a layer's blob into a temporary file, verifying its digest.
func (s *Service) download(ctx context.Context, img *imagec.Image, j *layerJob, out ProgressFunc) error {
	select {
	case s.slots <- struct{}{}:
	default:
		out(status(j.short, "Waiting"))
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-s.slots }()

	f, err := os.CreateTemp(s.tmpDir, "vice-layer-*")
	if err != nil {
		return fmt.Errorf("layer %s: %w", j.short, err)
	}
	j.file = f.Name()
	defer f.Close()
	rc, err := img.Open(ctx, j.layer)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), newProgressReader(rc, j.short, "Downloading", j.layer.Size, out))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("layer %s: download: %v: %w", j.short, err, errdefs.ErrUnavailable)
	}
	out(status(j.short, "Verifying Checksum"))
	if got := hex.EncodeToString(h.Sum(nil)); got != j.layer.Digest.Hex || (j.layer.Size > 0 && n != j.layer.Size) {
		return fmt.Errorf("layer %s: digest sha256:%s (%d bytes), the manifest says %s (%d bytes): %w",
			j.short, got, n, j.layer.Digest, j.layer.Size, errdefs.ErrInvalid)
	}
	if err := f.Close(); err != nil {
		return err
	}
	out(status(j.short, "Download complete"))
	return nil
}
