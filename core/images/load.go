package images

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// loadedImage is one manifest entry of an archive, checked.
type loadedImage struct {
	config []byte
	tags   []string
	layers []string // paths in the spool directory
	diffs  []string
}

// Load is POST /images/load: it reads a docker-archive tar (as `docker save` writes it, possibly gzipped),
// checks every layer against its config's diff_ids, writes the layers the store lacks, and stores the
// images. The messages are Docker's ("Loaded image: busybox:latest"); every error comes before them.
func (s *Service) Load(ctx context.Context, r io.Reader) ([]Message, error) {
	dir, err := os.MkdirTemp(s.tmpDir, "vice-load-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := spoolArchive(r, dir); err != nil {
		return nil, err
	}
	imgs, err := readArchive(dir)
	if err != nil {
		return nil, err
	}
	var msgs []Message
	for _, img := range imgs {
		m, err := s.loadOne(ctx, img)
		msgs = append(msgs, m...)
		if err != nil {
			return msgs, err
		}
	}
	return msgs, nil
}

// spoolArchive unpacks the archive's regular files into dir.
func spoolArchive(r io.Reader, dir string) error {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return errdefs.Classed(fmt.Errorf("invalid archive: %w", err), errdefs.ErrInvalid)
		}
		defer zr.Close()
		src = zr
	}
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errdefs.Classed(fmt.Errorf("invalid archive: %w", err), errdefs.ErrInvalid)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.Clean("/" + h.Name)[1:]
		if name == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return errdefs.Classed(fmt.Errorf("invalid archive: %w", err), errdefs.ErrInvalid)
		}
	}
}

// readArchive reads manifest.json and checks each image's layers against its config's diff_ids.
func readArchive(dir string) ([]loadedImage, error) {
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("invalid archive: no manifest.json (vice loads docker-archive tars): %w", errdefs.ErrInvalid)
	}
	var manifest []archiveManifest
	if err := json.Unmarshal(mb, &manifest); err != nil {
		return nil, fmt.Errorf("invalid archive: manifest.json: %v: %w", err, errdefs.ErrInvalid)
	}
	in := func(p string) string { return filepath.Join(dir, filepath.Clean("/" + p)[1:]) }
	var out []loadedImage
	for _, m := range manifest {
		cfgBytes, err := os.ReadFile(in(m.Config))
		if err != nil {
			return nil, fmt.Errorf("invalid archive: config %s: %w", m.Config, errdefs.ErrInvalid)
		}
		rec, err := newRecord(cfgBytes, nil)
		if err != nil {
			return nil, errdefs.Classed(fmt.Errorf("invalid archive: %w", err), errdefs.ErrInvalid)
		}
		diffs := rec.config.RootFS.DiffIDs
		if len(diffs) != len(m.Layers) {
			return nil, fmt.Errorf("invalid archive: %s has %d layers, its config %d diff ids: %w", m.Config,
				len(m.Layers), len(diffs), errdefs.ErrInvalid)
		}
		img := loadedImage{config: cfgBytes, tags: m.RepoTags}
		for i, l := range m.Layers {
			p := in(l)
			got, err := fileDiffID(p)
			if err != nil {
				return nil, errdefs.Classed(fmt.Errorf("invalid archive: layer %s: %w", l, err), errdefs.ErrInvalid)
			}
			if got != diffs[i].String() {
				return nil, fmt.Errorf("invalid diffID for layer %d: expected %q, got %q: %w", i, diffs[i], got, errdefs.ErrInvalid)
			}
			img.layers, img.diffs = append(img.layers, p), append(img.diffs, got)
		}
		out = append(out, img)
	}
	return out, nil
}

func fileDiffID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	c, err := sdk.SniffCompression(br)
	if err != nil {
		return "", err
	}
	d, _, err := diffDigest(br, c)
	return d, err
}

// loadOne writes the layers of img the store lacks and stores the image under its tags.
func (s *Service) loadOne(ctx context.Context, img loadedImage) ([]Message, error) {
	var layers []LayerRecord
	parent := ""
	for i, p := range img.layers {
		chain := chainID(parent, img.diffs[i])
		info, err := s.ensureLayer(ctx, chain, parent, img.diffs[i], p)
		if err != nil {
			return nil, err
		}
		layers = append(layers, LayerRecord{ChainID: chain, DiffID: img.diffs[i], Size: layerSize(info)})
		parent = chain
	}
	rec, err := newRecord(img.config, layers)
	if err != nil {
		return nil, errdefs.Classed(err, errdefs.ErrInvalid)
	}
	return s.storeImported(ctx, rec, img.tags, "load")
}

// ensureLayer returns layer chain, writing it from the file at path unless the store has it.
func (s *Service) ensureLayer(ctx context.Context, chain, parent, diffID, path string) (*models.LayerInfo, error) {
	if info, err := s.pl.GetLayer(ctx, chain); err == nil {
		return info, nil
	} else if !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	fl, owner := s.flights.claim(chain)
	if !owner {
		return fl.wait(ctx)
	}
	info, err := s.writeLayerFile(ctx, path, chain, parent, diffID)
	s.flights.finish(chain, fl, info, err)
	return info, err
}

// storeImported stores rec and points tags at it, with Docker's load messages, and reports action.
func (s *Service) storeImported(ctx context.Context, rec *Record, tags []string, action string) ([]Message, error) {
	var refs []string
	for _, t := range tags {
		ref, err := imagec.ParseReference(t)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref.String())
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.images[rec.ID] == nil {
		if err := s.putImageLocked(ctx, rec); err != nil {
			return nil, err
		}
	}
	var msgs []Message
	for _, ref := range refs {
		if old, ok := s.refs.Refs[ref]; ok && old != rec.ID {
			msgs = append(msgs, Message{Stream: fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string\n", ref, old)})
		}
	}
	if err := s.setRefsLocked(ctx, func(r *refsRecord) {
		for _, ref := range refs {
			r.Refs[ref], r.Tagged[ref] = rec.ID, time.Now().UTC()
		}
	}); err != nil {
		return nil, err
	}
	for _, ref := range refs {
		msgs = append(msgs, Message{Stream: "Loaded image: " + ref + "\n"})
	}
	if len(refs) == 0 {
		msgs = append(msgs, Message{Stream: "Loaded image ID: " + rec.ID + "\n"})
	}
	s.log.Info("image stored", "action", action, "id", rec.ID, "refs", strings.Join(refs, ","))
	s.publish(action, rec.ID, map[string]string{"name": rec.ID})
	return msgs, nil
}
