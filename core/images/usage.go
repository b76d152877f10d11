package images

import (
	"context"
	"sort"

	"github.com/moby/moby/api/types/image"
)

// Usage is the image half of GET /system/df: each image with the number of containers made from it and
// the size it shares with other images, and the size of every layer in the store.
type Usage struct {
	Images     []image.Summary
	LayersSize int64
}

// DiskUsage sizes the store; containers counts the containers of each image ID. As dockerd's, it lists the
// top-level images only (what docker images lists) and shares their layers among them: an intermediate
// image of a build (untagged, with children) is neither listed nor counted as a user of its layers.
func (s *Service) DiskUsage(ctx context.Context, containers map[string]int) (Usage, error) {
	if err := s.lock(ctx); err != nil {
		return Usage{}, err
	}
	defer s.mu.Unlock()
	parents := map[string]bool{}
	for _, r := range s.images {
		if r.Parent != "" {
			parents[r.Parent] = true
		}
	}
	var top []*Record
	sizes := map[string]int64{}
	users := map[string]int{} // layer -> top-level images that have it
	for _, r := range s.images {
		for _, l := range r.Layers {
			sizes[l.ChainID] = l.Size
		}
		if tags, _ := s.refsOfLocked(r.ID); len(tags) == 0 && parents[r.ID] {
			continue
		}
		top = append(top, r)
		for _, l := range r.Layers {
			users[l.ChainID]++
		}
	}
	u := Usage{Images: []image.Summary{}}
	for _, size := range sizes {
		u.LayersSize += size
	}
	for _, r := range top {
		tags, digests := s.refsOfLocked(r.ID)
		var shared int64
		for _, l := range r.Layers {
			if users[l.ChainID] > 1 {
				shared += l.Size
			}
		}
		u.Images = append(u.Images, image.Summary{
			ID: r.ID, Created: r.Created.Unix(), Size: r.Size, SharedSize: shared, Labels: r.config.Config.Labels,
			Containers: int64(containers[r.ID]), RepoTags: nonNil(tags), RepoDigests: nonNil(digests),
		})
	}
	sort.Slice(u.Images, func(i, j int) bool {
		if u.Images[i].Created != u.Images[j].Created {
			return u.Images[i].Created > u.Images[j].Created
		}
		return u.Images[i].ID < u.Images[j].ID
	})
	return u, nil
}

// Sizes are the sizes of the images in the store, by ID: what a container's SizeRootFs adds to its own writes.
func (s *Service) Sizes(ctx context.Context) (map[string]int64, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sizes := make(map[string]int64, len(s.images))
	for id, r := range s.images {
		sizes[id] = r.Size
	}
	return sizes, nil
}
