package images

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/image"

	"github.com/vice-engine/vice/core/internal/prunefilter"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Prune is POST /images/prune as dockerd does it: dangling images (no tag) only, or with dangling=false
// every image; created before until and matching the labels. An image is removed reference by reference
// (or by ID when it has none) without force, so an image a container uses stays. The space reclaimed is the
// size of the layers removed with them.
func (s *Service) Prune(ctx context.Context, f prunefilter.Filter) (image.PruneReport, error) {
	danglingOnly, err := f.Bool("dangling", true)
	if err != nil {
		return image.PruneReport{}, err
	}
	type candidate struct {
		id   string
		refs []string
	}
	if err := s.lock(ctx); err != nil {
		return image.PruneReport{}, err
	}
	var todo []candidate
	layerSizes := map[string]int64{}
	for _, r := range s.images {
		for _, l := range r.Layers {
			layerSizes["sha256:"+l.ChainID] = l.Size
		}
		tags, digests := s.refsOfLocked(r.ID)
		if danglingOnly && len(tags) > 0 {
			continue
		}
		if r.Created.IsZero() && !f.Until.IsZero() || !f.Match(r.Created, r.config.Config.Labels) {
			continue
		}
		todo = append(todo, candidate{id: r.ID, refs: append(tags, digests...)})
	}
	s.mu.Unlock()

	var rep image.PruneReport
	for _, c := range todo {
		if ctx.Err() != nil {
			break // report what was done
		}
		names := c.refs
		if len(names) == 0 {
			names = []string{strings.TrimPrefix(c.id, "sha256:")}
		}
		for _, n := range names {
			deleted, err := s.Delete(ctx, n, false, true)
			if err != nil {
				if !errors.Is(err, errdefs.ErrConflict) && !errors.Is(err, errdefs.ErrNotFound) {
					s.log.Warn("failed to prune image", "ref", n, "err", err)
				}
				continue
			}
			rep.ImagesDeleted = append(rep.ImagesDeleted, deleted...)
		}
	}
	for _, d := range rep.ImagesDeleted {
		if size, ok := layerSizes[d.Deleted]; ok && size > 0 {
			rep.SpaceReclaimed += uint64(size)
		}
	}
	s.publish("prune", "", map[string]string{"reclaimed": strconv.FormatUint(rep.SpaceReclaimed, 10)})
	return rep, ctx.Err()
}
