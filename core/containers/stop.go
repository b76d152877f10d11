package containers

import (
	"context"
	"errors"
	"time"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Stop is POST /containers/{id}/stop: the stop signal (the client's, else the container's, else SIGTERM),
// then after timeout seconds (the client's, else the container's, else 10; -1 waits for ever) the
// containerVM goes down. A container not running is "not modified" (304), as in Docker.
func (s *Service) Stop(ctx context.Context, ref, signal string, timeout *int) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if !r.running() {
		if s.cancelRestart(r.ID) { // a restart waiting its back-off: the stop ends it
			s.userStopping(ctx, r, false)
			return nil
		}
		return dockermsg.AlreadyStopped.Err(r.ID)
	}
	s.userStopping(ctx, r, true)
	return s.stop(ctx, r, signal, timeout)
}

func (s *Service) stop(ctx context.Context, r *record, signal string, timeout *int) error {
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	if sig == "" {
		sig = r.Config.StopSignal
	}
	if sig == "" {
		sig = defaultStopSignal
	}
	secs := defaultStopTimeout
	switch {
	case timeout != nil:
		secs = *timeout
	case r.Config.StopTimeout != nil:
		secs = *r.Config.StopTimeout
	}
	wait := time.Duration(secs) * time.Second
	if secs < 0 {
		wait = -1
	}
	if _, err := s.pl.StopContainer(ctx, r.ID, sig, wait); err != nil {
		return err
	}
	s.log.Info("container stopped", "container", r.ID, "signal", sig, "timeout", secs)
	return nil
}

// Kill is POST /containers/{id}/kill: a signal (SIGKILL unless told) to a running container; a container
// not running is a conflict, as Docker 28 says it.
func (s *Service) Kill(ctx context.Context, ref, signal string) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	if sig == "" {
		sig = "SIGKILL"
	}
	notRunning := dockermsg.CannotKill.Err(ref, r.ID)
	if !r.running() {
		if s.cancelRestart(r.ID) {
			s.userStopping(ctx, r, false)
			return nil
		}
		return notRunning
	}
	// As dockerd: any kill is a user's stop for unless-stopped; SIGKILL, and the stop signal of a container
	// that has one (any signal of one that has none), also keep this exit from being restarted.
	stopSignal, _ := parseSignal(r.Config.StopSignal)
	s.userStopping(ctx, r, stopSignal == "" || sig == "SIGKILL" || sig == "9" || sig == stopSignal)
	if err := s.pl.SignalContainer(ctx, r.ID, sig); err != nil {
		if errors.Is(err, errdefs.ErrConflict) {
			return notRunning
		}
		return err
	}
	return nil
}

// Remove is DELETE /containers/{id}: a running container only with force; with removeVolumes (v) its
// anonymous volumes go too, as dockerd's (named ones stay).
func (s *Service) Remove(ctx context.Context, ref string, force, removeVolumes bool) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if r.running() && !force {
		return dockermsg.RemoveRunning.Err(r.Name)
	}
	s.cancelRestart(r.ID)
	if err := s.pl.RemoveContainer(ctx, r.ID, force); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return noSuchContainer(ref)
		}
		return err
	}
	s.log.Info("container removed", "container", r.ID, "name", r.Name)
	if removeVolumes {
		s.removeVolumes(ctx, s.anonymousVolumes(ctx, r))
	}
	return nil
}

// Rename is POST /containers/{id}/rename.
func (s *Service) Rename(ctx context.Context, ref, newName string) error {
	if newName == "" {
		return dockermsg.RenameEmpty.Err()
	}
	name, err := checkName(newName)
	if err != nil {
		return err
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if r.Name == name {
		return dockermsg.RenameSame.Err()
	}
	release, _, err := s.reserveName(name, r.ID)
	if err != nil {
		return err
	}
	defer release()
	if _, err := s.pl.RenameContainer(ctx, r.ID, name); err != nil {
		if errdefs.Is(err, errdefs.ErrConflict) {
			if other, rerr := s.resolve(ctx, name); rerr == nil && other.ID != r.ID {
				return nameConflict(name, other.ID)
			}
		}
		return err
	}
	s.names.forget(r.Name)
	s.names.remember(name, r.ID)
	s.log.Info("container renamed", "container", r.ID, "from", r.Name, "to", name)
	return nil
}

// Resize is POST /containers/{id}/resize: the tty size of the main process.
func (s *Service) Resize(ctx context.Context, ref string, height, width int64) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if !r.running() {
		return dockermsg.NotRunning.Err(r.ID)
	}
	return s.pl.ResizeContainer(ctx, r.ID, height, width)
}
