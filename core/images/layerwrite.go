package images

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// diffDigest is the sha256 of the uncompressed tar in r.
func diffDigest(r io.Reader, compression string) (string, int64, error) {
	if compression == "gzip" {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return "", 0, err
		}
		defer zr.Close()
		r = zr
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeLayerFile streams the layer blob in path into the port layer as layer chain (child of parent); the
// backend must find that its uncompressed tar has diffID.
func (s *Service) writeLayerFile(ctx context.Context, path, chain, parent, diffID string) (*models.LayerInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	compression, err := sdk.SniffCompression(br)
	if err != nil {
		return nil, err
	}
	return s.writeLayer(ctx, chain, parent, diffID, compression, br, nil)
}

// writeLayer streams src, a layer diff compressed as compression says, into the port layer as layer chain (a
// child of parent), and checks that the tar the backend unpacked is the one the image names: its digest, as
// the backend computed it while unpacking, must be diffID. finish, when not nil, runs once the backend has
// the layer and may still reject it (the source's own check failing). A layer someone else completed
// meanwhile is taken as is; a rejected layer is removed again.
func (s *Service) writeLayer(ctx context.Context, chain, parent, diffID, compression string, src io.Reader,
	finish func() error) (*models.LayerInfo, error) {
	info, err := s.pl.WriteLayer(ctx, chain, parent, compression, src)
	return s.written(ctx, chain, diffID, info, err, finish)
}

// written settles a layer write that answered info or err (WriteLayer's, or FetchLayer's): a layer someone
// else completed meanwhile is taken as is; finish, when not nil, runs once the backend has the layer and may
// still reject it; the layer must have diffID, and a rejected layer is removed again.
func (s *Service) written(ctx context.Context, chain, diffID string, info *models.LayerInfo, err error,
	finish func() error) (*models.LayerInfo, error) {
	switch {
	case errors.Is(err, errdefs.ErrConflict):
		return s.pl.GetLayer(ctx, chain)
	case errors.Is(err, errdefs.ErrNotFound):
		return nil, fmt.Errorf("write layer %s: %w: %w", shortID(chain), errParentMissing, err)
	case err != nil:
		return nil, fmt.Errorf("write layer %s: %w", shortID(chain), err)
	}
	if finish != nil {
		err = finish()
	}
	if err == nil {
		err = s.checkDiffID(ctx, info, chain, diffID)
	}
	if err != nil {
		// A child written meanwhile may hold it (the backend commits a child once its parent is): the pull
		// that wrote the child removes both.
		_ = s.pl.RemoveLayer(context.WithoutCancel(ctx), chain)
		return nil, err
	}
	return info, nil
}

// errParentMissing marks a write the backend refused because the parent layer is not there (yet).
var errParentMissing = errors.New("the parent layer is missing")

// checkDiffID compares the digest of the layer's uncompressed tar with diffID. It is the backend's figure;
// a backend that gives none has the diff read back and hashed here.
func (s *Service) checkDiffID(ctx context.Context, info *models.LayerInfo, chain, diffID string) error {
	got := info.DiffID
	if got == "" {
		rc, err := s.pl.ReadLayerDiff(ctx, chain)
		if err != nil {
			return fmt.Errorf("layer %s: read back the diff: %w", shortID(chain), err)
		}
		got, _, err = diffDigest(rc, "none")
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %s: read back the diff: %w", shortID(chain), err)
		}
	}
	if got != diffID {
		return fmt.Errorf("layer %s: the uncompressed tar has digest %s, the image config says %s: %w",
			shortID(chain), got, diffID, errdefs.ErrInvalid)
	}
	return nil
}

// layerSize is what Docker counts for a layer: its unpacked size, or its tar's when the backend gives none.
func layerSize(info *models.LayerInfo) int64 {
	if info.Size != nil && *info.Size > 0 {
		return *info.Size
	}
	return info.DiffSize
}
