package networks

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/core/internal/prunefilter"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Remove is DELETE /networks/{id}. A predefined network, or one a container is on, is dockerd's forbidden.
func (s *Service) Remove(ctx context.Context, ref string) error {
	n, err := s.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	if n.Predefined {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", n.Name, errdefs.ErrForbidden)
	}
	if err := s.pl.RemoveScope(ctx, n.ID); err != nil {
		return err
	}
	s.log.Info("network removed", "network", n.ID, "name", n.Name)
	return nil
}

// errPruneRunning refuses a second prune while one runs, as dockerd does.
var errPruneRunning = fmt.Errorf("a prune operation is already running: %w", errdefs.ErrConflict)

// Prune is POST /networks/prune: every network that is not predefined, has no container on it, and passes f
// (until, label, label!) is removed; dockerd's report names the networks removed.
func (s *Service) Prune(ctx context.Context, f prunefilter.Filter) (network.PruneReport, error) {
	if !s.pruning.CompareAndSwap(false, true) {
		return network.PruneReport{}, errPruneRunning
	}
	defer s.pruning.Store(false)
	all, err := s.pl.ListScopes(ctx)
	if err != nil {
		return network.PruneReport{}, err
	}
	on, err := s.containersOn(ctx)
	if err != nil {
		return network.PruneReport{}, err
	}
	var rep network.PruneReport
	for _, n := range all {
		if n.Predefined || len(on[n.ID]) > 0 || !f.Match(summary(n).Created, n.Labels) {
			continue
		}
		if err := s.pl.RemoveScope(ctx, n.ID); err != nil {
			if !errors.Is(err, errdefs.ErrNotFound) {
				s.log.Warn("failed to prune network", "network", n.ID, "err", err)
			}
			continue
		}
		s.log.Info("network removed", "network", n.ID, "name", n.Name, "by", "prune")
		rep.NetworksDeleted = append(rep.NetworksDeleted, n.Name)
	}
	return rep, nil
}
