package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// CommitOptions is an image made of a container's changes (POST /commit).
type CommitOptions struct {
	Parent string    // the ID of the image the container was made from ("" for a build's FROM scratch)
	Diff   io.Reader // the container's changes, an uncompressed layer diff; nil for none (a metadata step)
	// DiffRead runs once Diff is read to its end, before the layer is written (a paused container resumes).
	DiffRead        func()
	Config          *container.Config // the new image's configuration
	ContainerConfig *container.Config // the container's, recorded with the image as Docker records it
	ContainerID     string
	Author, Comment string
	Repo, Tag       string // the reference to give the image; none without a repository
	// BuildStep records Parent as the new image's parent: a build step's image, an intermediate image
	// that the build cache finds again among Parent's children.
	BuildStep bool
}

// Commit stores a new image: the parent's layers and, unless the container changed nothing, its diff as a
// layer on top (a child of the parent's top layer); the parent's configuration with o's, and a history entry.
// It returns the image's ID and the reference it got ("" without one).
func (s *Service) Commit(ctx context.Context, o CommitOptions) (id, ref string, err error) {
	if o.Repo != "" {
		r, err := imagec.WithTag(o.Repo, o.Tag)
		if err != nil {
			return "", "", err
		}
		if r.Digest() != "" {
			return "", "", fmt.Errorf("refusing to create a tag with a digest reference: %w", errdefs.ErrInvalid)
		}
		ref = r.String()
	}
	var path, diffID string
	empty := true
	if o.Diff != nil {
		var err error
		path, diffID, empty, err = s.spoolDiff(o.Diff)
		if o.DiffRead != nil {
			o.DiffRead()
		}
		if err != nil {
			return "", "", err
		}
		defer os.Remove(path)
	}

	if err := s.lock(ctx); err != nil {
		return "", "", err
	}
	parent := s.images[o.Parent]
	s.mu.Unlock()
	if parent == nil && o.Parent == "" && o.BuildStep {
		parent = scratchRecord()
	}
	if parent == nil {
		return "", "", fmt.Errorf("the image of container %s: %w", shortID(o.ContainerID), noSuchImage(o.Parent))
	}
	layers := append([]LayerRecord(nil), parent.Layers...)
	if !empty {
		parentChain := ""
		if n := len(layers); n > 0 {
			parentChain = layers[n-1].ChainID
		}
		chain := chainID(parentChain, diffID)
		info, err := s.ensureLayer(ctx, chain, parentChain, diffID, path)
		if err != nil {
			return "", "", err
		}
		layers = append(layers, LayerRecord{ChainID: chain, DiffID: diffID, Size: layerSize(info)})
	}
	raw, err := childConfig(parent.Config, o, diffID, empty)
	if err != nil {
		return "", "", err
	}
	rec, err := newRecord(raw, layers)
	if err != nil {
		return "", "", err
	}
	if o.BuildStep {
		rec.Parent = o.Parent
	}
	if err := s.lock(ctx); err != nil {
		return "", "", err
	}
	defer s.mu.Unlock()
	if s.images[rec.ID] == nil {
		if err := s.putImageLocked(ctx, rec); err != nil {
			return "", "", err
		}
	}
	if ref != "" {
		if err := s.tagLocked(ctx, rec.ID, ref); err != nil {
			return "", "", err
		}
	}
	s.log.Info("image committed", "id", rec.ID, "container", o.ContainerID, "ref", ref, "emptyLayer", empty)
	return rec.ID, ref, nil
}

// scratchRecord is the empty image a FROM scratch stage starts from (no layers, linux/amd64).
func scratchRecord() *Record {
	return &Record{Config: []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)}
}

// spoolDiff writes the diff to a temporary file and returns its path, its digest ("sha256:<hex>"), and
// whether it has no entries (the container changed nothing).
func (s *Service) spoolDiff(diff io.Reader) (string, string, bool, error) {
	f, err := os.CreateTemp(s.tmpDir, "vice-commit-*")
	if err != nil {
		return "", "", false, err
	}
	h := sha256.New()
	pr, pw := io.Pipe()
	entries := make(chan int, 1)
	go func() {
		// Counting the entries as the diff goes by: reading the tar to its end drains the pipe.
		n, tr := 0, tar.NewReader(pr)
		for {
			if _, err := tr.Next(); err != nil {
				break
			}
			n++
		}
		_, _ = io.Copy(io.Discard, pr)
		entries <- n
	}()
	_, err = io.Copy(io.MultiWriter(f, h, pw), diff)
	pw.Close()
	n := <-entries
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", "", false, fmt.Errorf("read the container's changes: %w", err)
	}
	return f.Name(), "sha256:" + hex.EncodeToString(h.Sum(nil)), n == 0, nil
}

// childConfig is the committed image's configuration: the parent's, its fields as a map so that what this
// store does not model stays, with the new runtime config, the container's, the new layer's diff ID and the
// history entry Docker writes for a commit.
func childConfig(parentRaw []byte, o CommitOptions, diffID string, empty bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(parentRaw, &m); err != nil {
		return nil, fmt.Errorf("the parent image's config: %w", err)
	}
	var rootfs struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
	if raw, ok := m["rootfs"]; ok {
		if err := json.Unmarshal(raw, &rootfs); err != nil {
			return nil, fmt.Errorf("the parent image's rootfs: %w", err)
		}
	}
	rootfs.Type = "layers"
	if !empty {
		rootfs.DiffIDs = append(rootfs.DiffIDs, diffID)
	}
	var history []map[string]any
	if raw, ok := m["history"]; ok {
		if err := json.Unmarshal(raw, &history); err != nil {
			return nil, fmt.Errorf("the parent image's history: %w", err)
		}
	}
	created := time.Now().UTC()
	entry := map[string]any{"created": created, "created_by": strings.Join(o.ContainerConfig.Cmd, " ")}
	if o.Author != "" {
		entry["author"] = o.Author
	}
	if o.Comment != "" {
		entry["comment"] = o.Comment
	}
	if empty {
		entry["empty_layer"] = true
	}
	history = append(history, entry)
	set := func(key string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		m[key] = b
		return nil
	}
	if o.ContainerID == "" {
		delete(m, "container")
	} else if err := set("container", o.ContainerID); err != nil {
		return nil, err
	}
	err := errors.Join(
		set("created", created), set("config", o.Config),
		set("container_config", o.ContainerConfig), set("rootfs", rootfs), set("history", history),
	)
	if o.Author != "" {
		err = errors.Join(err, set("author", o.Author))
	} else {
		delete(m, "author")
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}
