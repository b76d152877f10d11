package images

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// sniffCompression names the compression of a layer stream from its first bytes: "gzip" or "none" (a tar).
func sniffCompression(br *bufio.Reader) (string, error) {
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip", nil
	case len(head) >= 3 && string(head[:3]) == "BZh",
		len(head) >= 6 && string(head[:6]) == "\xfd7zXZ\x00",
		len(head) >= 4 && string(head[:4]) == "\x28\xb5\x2f\xfd":
		return "", fmt.Errorf("layer compression (bzip2, xz or zstd) is not supported: %w", errdefs.ErrNotImplemented)
	}
	return "none", nil
}

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

// writeLayerFile streams the layer blob in path into the port layer as layer chain (child of parent),
// checking on the way that its uncompressed tar has diffID. A layer someone else completed meanwhile is
// taken as is. A mismatching layer is removed again.
func (s *Service) writeLayerFile(ctx context.Context, path, chain, parent, diffID string, wrap func(io.Reader) io.Reader) (*models.LayerInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	compression, err := sniffCompression(br)
	if err != nil {
		return nil, err
	}
	var src io.Reader = br
	if wrap != nil {
		src = wrap(br)
	}
	pr, pw := io.Pipe()
	type sum struct {
		digest string
		err    error
	}
	hashed := make(chan sum, 1)
	go func() {
		d, _, err := diffDigest(pr, compression)
		_, _ = io.Copy(io.Discard, pr) // keep the tee flowing whatever happened
		hashed <- sum{d, err}
	}()
	info, werr := s.pl.WriteLayer(ctx, chain, parent, compression, io.TeeReader(src, pw))
	if werr == nil {
		// The port layer may not read to EOF (a tar's trailing padding): the digest needs it all.
		_, werr = io.Copy(pw, src)
	}
	pw.CloseWithError(werr)
	h := <-hashed
	if errors.Is(werr, errdefs.ErrConflict) {
		return s.pl.GetLayer(ctx, chain)
	}
	if werr != nil {
		return nil, fmt.Errorf("write layer %s: %w", shortID(chain), werr)
	}
	if h.err != nil || h.digest != diffID {
		_ = s.pl.RemoveLayer(context.WithoutCancel(ctx), chain)
		if h.err != nil {
			return nil, fmt.Errorf("layer %s: %v: %w", shortID(chain), h.err, errdefs.ErrInvalid)
		}
		return nil, fmt.Errorf("layer %s: the uncompressed tar has digest %s, the image config says %s: %w",
			shortID(chain), h.digest, diffID, errdefs.ErrInvalid)
	}
	return info, nil
}

// layerSize is what Docker counts for a layer: its unpacked size, or its tar's when the backend gives none.
func layerSize(info *models.LayerInfo) int64 {
	if info.Size != nil && *info.Size > 0 {
		return *info.Size
	}
	return info.DiffSize
}
