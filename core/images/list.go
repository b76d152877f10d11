package images

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// List is GET /images/json with Docker's filters: reference, dangling, label, before, since.
// Intermediate images (untagged parents of other images) are left out, as without all=1.
func (s *Service) List(ctx context.Context, filters map[string][]string) ([]image.Summary, error) {
	return s.ListAll(ctx, filters, false)
}

// ListAll is List that, with all, also lists the intermediate images (docker images -a).
func (s *Service) ListAll(ctx context.Context, filters map[string][]string, all bool) ([]image.Summary, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	for k := range filters {
		switch k {
		case "reference", "dangling", "label", "before", "since":
		default:
			return nil, fmt.Errorf("invalid filter '%s': %w", k, errdefs.ErrInvalid)
		}
	}
	before, err := s.boundLocked(filters["before"])
	if err != nil {
		return nil, err
	}
	since, err := s.boundLocked(filters["since"])
	if err != nil {
		return nil, err
	}
	out := []image.Summary{}
	for _, r := range s.images {
		tags, digests := s.refsOfLocked(r.ID)
		intermediate := len(tags) == 0 && s.hasChildrenLocked(r.ID)
		if intermediate && !all {
			continue
		}
		if !matchDangling(filters["dangling"], len(tags) == 0 && !intermediate) || !matchLabels(filters["label"], r.config.Config.Labels) ||
			before != nil && !r.Created.Before(before.Created) || since != nil && !r.Created.After(since.Created) {
			continue
		}
		if pats := filters["reference"]; len(pats) > 0 {
			// Docker narrows both lists, so the CLI shows no "<none>" row for a digest of another repository.
			tags, digests = matchReference(pats, tags), matchReference(pats, digests)
			if len(tags) == 0 && len(digests) == 0 {
				continue
			}
		}
		out = append(out, image.Summary{
			ID: r.ID, Created: r.Created.Unix(), Size: r.Size, Labels: r.config.Config.Labels, Containers: -1,
			SharedSize: -1, RepoTags: nonNil(tags), RepoDigests: nonNil(digests), ParentID: r.Parent,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created > out[j].Created
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (s *Service) boundLocked(vals []string) (*Record, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	r, _, err := s.lookupLocked(vals[0])
	return r, err
}

func matchDangling(vals []string, dangling bool) bool {
	for _, v := range vals {
		if (v == "true" || v == "1") != dangling {
			return false
		}
	}
	return true
}

func matchLabels(vals []string, labels map[string]string) bool {
	for _, v := range vals {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		if !ok || hasValue && got != want {
			return false
		}
	}
	return true
}

// matchReference keeps the tags that match one of the patterns, as Docker matches them: against the
// familiar name or the familiar name:tag.
func matchReference(patterns, tags []string) []string {
	var out []string
	for _, t := range tags {
		for _, p := range patterns {
			if ok, _ := path.Match(p, repoOf(t)); ok {
				out = append(out, t)
				break
			}
			if ok, _ := path.Match(p, t); ok {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Inspect is GET /images/{name}/json.
func (s *Service) Inspect(ctx context.Context, refOrID string) (image.InspectResponse, error) {
	if err := s.lock(ctx); err != nil {
		return image.InspectResponse{}, err
	}
	defer s.mu.Unlock()
	r, _, err := s.lookupLocked(refOrID)
	if err != nil {
		return image.InspectResponse{}, err
	}
	tags, digests := s.refsOfLocked(r.ID)
	var raw struct {
		Config *dockerspec.DockerOCIImageConfig `json:"config"`
	}
	if err := json.Unmarshal(r.Config, &raw); err != nil {
		return image.InspectResponse{}, fmt.Errorf("image %s config: %w", shortID(r.ID), err)
	}
	if raw.Config == nil {
		raw.Config = &dockerspec.DockerOCIImageConfig{}
	}
	c := r.config
	layers := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		layers[i] = l.DiffID
	}
	resp := image.InspectResponse{
		ID: r.ID, RepoTags: nonNil(tags), RepoDigests: nonNil(digests), Comment: historyComment(c.History),
		Created: c.Created.Time.UTC().Format(time.RFC3339Nano), Author: c.Author, Config: raw.Config,
		Architecture: c.Architecture, Variant: c.Variant, Os: c.OS, OsVersion: c.OSVersion, Size: r.Size,
		RootFS: image.RootFS{Type: "layers", Layers: layers},
	}
	var last time.Time
	for _, t := range tags {
		if tt := s.refs.Tagged[t]; tt.After(last) {
			last = tt
		}
	}
	resp.Metadata.LastTagTime = last
	return resp, nil
}

func historyComment(h []v1.History) string {
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1].Comment
}

// History is GET /images/{name}/history: the config's history, newest first, with each layer's size.
func (s *Service) History(ctx context.Context, refOrID string) ([]image.HistoryResponseItem, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r, _, err := s.lookupLocked(refOrID)
	if err != nil {
		return nil, err
	}
	tags, _ := s.refsOfLocked(r.ID)
	var out []image.HistoryResponseItem
	layer := 0
	for _, h := range r.config.History {
		item := image.HistoryResponseItem{ID: "<missing>", Created: h.Created.Unix(), CreatedBy: h.CreatedBy,
			Comment: h.Comment, Tags: nil}
		if !h.EmptyLayer && layer < len(r.Layers) {
			item.Size = r.Layers[layer].Size
			layer++
		}
		out = append(out, item)
	}
	if len(out) == 0 {
		out = append(out, image.HistoryResponseItem{ID: "<missing>", Created: r.Created.Unix(), Size: r.Size})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	// As Docker fills them in: the entries, newest first, get the IDs of the image and its parents.
	for i, img := 0, r; i < len(out) && img != nil; i, img = i+1, s.images[img.Parent] {
		out[i].ID = img.ID
		out[i].Tags, _ = s.refsOfLocked(img.ID)
		if img.Parent == "" {
			break
		}
	}
	out[0].Tags = tags
	return out, nil
}
