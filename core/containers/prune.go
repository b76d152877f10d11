package containers

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/prunefilter"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// errPruneRunning refuses a second prune while one runs, as dockerd does.
var errPruneRunning = fmt.Errorf("a prune operation is already running: %w", errdefs.ErrConflict)

// Prune is POST /containers/prune: every container that is not running (and not being started), created
// before f's until and matching its labels, is removed, as dockerd does. A container that cannot be removed
// is skipped. The space reclaimed is what the removed containers' own writes took on their disks (SizeRw).
func (s *Service) Prune(ctx context.Context, f prunefilter.Filter) (container.PruneReport, error) {
	if !s.pruning.CompareAndSwap(false, true) {
		return container.PruneReport{}, errPruneRunning
	}
	defer s.pruning.Store(false)
	all, err := s.list(ctx, sdk.ListFilter{})
	if err != nil {
		return container.PruneReport{}, err
	}
	// Newest first, as dockerd walks its containers.
	sort.SliceStable(all, func(i, j int) bool { return all[i].createdAt().After(all[j].createdAt()) })
	var rep container.PruneReport
	for _, r := range all {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if r.running() || s.isStarting(r.ID) || !f.Match(r.createdAt(), r.Config.Labels) {
			continue
		}
		size := s.sizeRw(ctx, r.ID)
		if err := s.pl.RemoveContainer(ctx, r.ID, false); err != nil {
			if !errors.Is(err, errdefs.ErrNotFound) {
				s.log.Warn("failed to prune container", "container", r.ID, "err", err)
			}
			continue
		}
		s.log.Info("container removed", "container", r.ID, "name", r.Name, "by", "prune")
		rep.ContainersDeleted = append(rep.ContainersDeleted, r.ID)
		rep.SpaceReclaimed += uint64(size)
	}
	return rep, nil
}

// isStarting reports whether a start of id is in flight.
func (s *Service) isStarting(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.starting[id]
	return ok
}
