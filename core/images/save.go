package images

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// archiveManifest is one entry of a docker-archive's manifest.json.
type archiveManifest struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// Save is a GET /images/get whose images are resolved.
type Save struct {
	s      *Service
	images []*Record
	tags   [][]string
}

// PrepareSave resolves every name, so that a missing one is an error before the archive starts.
func (s *Service) PrepareSave(ctx context.Context, names []string) (*Save, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no images to save: %w", errdefs.ErrInvalid)
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sv := &Save{s: s}
	index := map[string]int{}
	for _, n := range names {
		r, ref, err := s.lookupLocked(n)
		if err != nil {
			return nil, err
		}
		i, ok := index[r.ID]
		if !ok {
			i = len(sv.images)
			index[r.ID] = i
			sv.images = append(sv.images, r)
			sv.tags = append(sv.tags, nil)
		}
		if ref != "" && !isDigestRef(ref) {
			sv.tags[i] = append(sv.tags[i], ref)
		}
	}
	return sv, nil
}

// WriteTo writes the images as `docker save` does: <diff id>/layer.tar per layer, <config hex>.json,
// manifest.json and repositories.
func (sv *Save) WriteTo(ctx context.Context, w io.Writer) error {
	tw := tar.NewWriter(w)
	now := time.Unix(0, 0).UTC()
	written := map[string]bool{}
	var manifest []archiveManifest
	repos := map[string]map[string]string{}
	for i, r := range sv.images {
		m := archiveManifest{Config: strings.TrimPrefix(r.ID, "sha256:") + ".json", RepoTags: sv.tags[i]}
		for _, l := range r.Layers {
			dir := strings.TrimPrefix(l.DiffID, "sha256:")
			m.Layers = append(m.Layers, dir+"/layer.tar")
			if written[dir] {
				continue
			}
			written[dir] = true
			if err := writeDir(tw, dir, now); err != nil {
				return err
			}
			if err := writeFile(tw, dir+"/VERSION", []byte("1.0"), now); err != nil {
				return err
			}
			if err := sv.s.writeLayerTar(ctx, tw, dir+"/layer.tar", l.ChainID, now); err != nil {
				return err
			}
		}
		if err := writeFile(tw, m.Config, r.Config, now); err != nil {
			return err
		}
		for _, t := range m.RepoTags {
			ref, err := imagec.ParseReference(t)
			if err != nil {
				continue
			}
			if repos[ref.FamiliarName()] == nil {
				repos[ref.FamiliarName()] = map[string]string{}
			}
			repos[ref.FamiliarName()][ref.Tag()] = strings.TrimPrefix(r.Layers[len(r.Layers)-1].DiffID, "sha256:")
		}
		manifest = append(manifest, m)
	}
	mb, _ := json.Marshal(manifest)
	if err := writeFile(tw, "manifest.json", mb, now); err != nil {
		return err
	}
	if len(repos) > 0 {
		rb, _ := json.Marshal(repos)
		if err := writeFile(tw, "repositories", rb, now); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeLayerTar copies a layer's diff from the port layer into the archive; the entry's size comes from the
// layer's record, or from a spooled copy when the backend does not report it.
func (s *Service) writeLayerTar(ctx context.Context, tw *tar.Writer, name, chain string, mod time.Time) error {
	info, err := s.pl.GetLayer(ctx, chain)
	if err != nil {
		return fmt.Errorf("layer %s: %w", shortID(chain), err)
	}
	rc, err := s.pl.ReadLayerDiff(ctx, chain)
	if err != nil {
		return fmt.Errorf("layer %s: %w", shortID(chain), err)
	}
	defer rc.Close()
	var src io.Reader = rc
	size := info.DiffSize
	if size <= 0 {
		f, err := os.CreateTemp(s.tmpDir, "vice-save-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if size, err = io.Copy(f, rc); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		src = f
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, src, size); err != nil {
		return fmt.Errorf("layer %s: diff: %w", shortID(chain), err)
	}
	return nil
}

func writeDir(tw *tar.Writer, name string, mod time.Time) error {
	return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o755, ModTime: mod, Typeflag: tar.TypeDir})
}

func writeFile(tw *tar.Writer, name string, body []byte, mod time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(body)
	return err
}
