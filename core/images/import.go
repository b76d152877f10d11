package images

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// ImportOptions is POST /images/create?fromSrc=-.
type ImportOptions struct {
	Source   io.Reader // a root filesystem tar, possibly gzip or bzip2 compressed
	Repo     string    // optional repository, with an optional tag
	Tag      string
	Message  string   // the history comment
	Changes  []string // Dockerfile instructions applied to the config
	Platform string
}

// Import creates a one-layer image from a root filesystem tarball and returns its ID.
func (s *Service) Import(ctx context.Context, o ImportOptions) (string, error) {
	var tags []string
	if o.Repo != "" {
		ref, err := imagec.WithTag(o.Repo, o.Tag)
		if err != nil {
			return "", err
		}
		if ref.Digest() != "" {
			return "", fmt.Errorf("cannot import digest reference: %w", errdefs.ErrInvalid)
		}
		tags = []string{ref.String()}
	}
	cfg := &v1.ConfigFile{Architecture: "amd64", OS: "linux", Created: v1.Time{Time: time.Now().UTC()}}
	if o.Platform != "" {
		p, err := v1.ParsePlatform(o.Platform)
		if err != nil {
			return "", errdefs.Classed(fmt.Errorf("invalid platform %q: %w", o.Platform, err), errdefs.ErrInvalid)
		}
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	}
	if err := applyChanges(&cfg.Config, o.Changes); err != nil {
		return "", err
	}
	path, diffID, err := s.spoolRootfs(o.Source)
	if err != nil {
		return "", err
	}
	defer os.Remove(path)
	comment := o.Message
	if comment == "" {
		comment = "Imported from -"
	}
	h, _ := v1.NewHash(diffID)
	cfg.RootFS = v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{h}}
	cfg.History = []v1.History{{Created: cfg.Created, Comment: comment}}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	chain := chainID("", diffID)
	info, err := s.ensureLayer(ctx, chain, "", diffID, path)
	if err != nil {
		return "", err
	}
	rec, err := newRecord(raw, []LayerRecord{{ChainID: chain, DiffID: diffID, Size: layerSize(info)}})
	if err != nil {
		return "", err
	}
	if _, err := s.storeImported(ctx, rec, tags, "import"); err != nil {
		return "", err
	}
	return rec.ID, nil
}

// spoolRootfs decompresses the source into a temporary tar file and returns its path and diff ID.
func (s *Service) spoolRootfs(src io.Reader) (string, string, error) {
	br := bufio.NewReader(src)
	var r io.Reader = br
	head, _ := br.Peek(3)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", "", errdefs.Classed(fmt.Errorf("import: %w", err), errdefs.ErrInvalid)
		}
		r = zr
	case len(head) == 3 && string(head) == "BZh":
		r = bzip2.NewReader(br)
	default:
		if _, err := sdk.SniffCompression(br); err != nil {
			return "", "", err
		}
	}
	f, err := os.CreateTemp(s.tmpDir, "vice-import-*")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", "", errdefs.Classed(fmt.Errorf("import: %w", err), errdefs.ErrInvalid)
	}
	return f.Name(), "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
