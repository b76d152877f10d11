package containers

import (
	"context"
	"errors"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Top is GET /containers/{id}/top?ps_args=: the guest's own process table, as its ps prints it.
func (s *Service) Top(ctx context.Context, ref, psArgs string) (container.TopResponse, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return container.TopResponse{}, err
	}
	if !r.running() {
		return container.TopResponse{}, dockermsg.NotRunning.Err(r.ID)
	}
	if r.state().Paused {
		return container.TopResponse{}, dockermsg.TopPaused.Err(r.ID)
	}
	pl, err := s.pl.TopContainer(ctx, r.ID, strings.Fields(psArgs))
	if err != nil {
		return container.TopResponse{}, err
	}
	return container.TopResponse{Titles: pl.Titles, Processes: pl.Processes}, nil
}

// Pause is POST /containers/{id}/pause: the containerVM is suspended.
func (s *Service) Pause(ctx context.Context, ref string) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	switch {
	case r.state().Paused:
		return dockermsg.AlreadyPaused.Err(r.ID)
	case s.restarting(r.ID):
		return dockermsg.Restarting.Err(r.ID)
	case !r.running():
		return dockermsg.NotRunning.Err(r.ID)
	}
	if _, err := s.pl.PauseContainer(ctx, r.ID); err != nil {
		return s.stateConflict(ctx, r.ID, err)
	}
	s.log.Info("container paused", "container", r.ID)
	return nil
}

// Unpause is POST /containers/{id}/unpause: the containerVM goes on where it stopped.
func (s *Service) Unpause(ctx context.Context, ref string) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if !r.state().Paused {
		return dockermsg.NotPaused.Err(r.ID)
	}
	if _, err := s.pl.UnpauseContainer(ctx, r.ID); err != nil {
		return s.stateConflict(ctx, r.ID, err)
	}
	s.log.Info("container unpaused", "container", r.ID)
	return nil
}

// stateConflict words a backend's conflict (the container changed state meanwhile) as dockerd would.
func (s *Service) stateConflict(ctx context.Context, id string, err error) error {
	if !errors.Is(err, errdefs.ErrConflict) {
		return err
	}
	r, rerr := s.refresh(ctx, id)
	switch {
	case rerr != nil:
		return rerr
	case r.state().Paused:
		return dockermsg.AlreadyPaused.Err(id)
	case !r.running():
		return dockermsg.NotRunning.Err(id)
	}
	return err
}
