package containers

import (
	"context"
	"errors"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Waiter blocks until a container reaches the condition it was made for.
type Waiter func(ctx context.Context) (container.WaitResponse, error)

// Wait is POST /containers/{id}/wait in two steps, as Docker answers it: the container is resolved and the
// condition checked now (so that errors are ordinary responses), and the returned Waiter blocks until
// "not-running" (default), "next-exit" or "removed" holds.
func (s *Service) Wait(ctx context.Context, ref, condition string) (Waiter, error) {
	switch container.WaitCondition(condition) {
	case "", container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		return nil, dockermsg.InvalidWaitCond.Err(condition)
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (container.WaitResponse, error) {
		if condition == string(container.WaitConditionRemoved) && r.HostConfig.AutoRemove {
			return s.waitAutoRemoved(ctx, r)
		}
		var st *models.ContainerState
		var err error
		if condition == string(container.WaitConditionNextExit) {
			st, err = s.waitNextExit(ctx, r)
		} else {
			st, err = s.pl.WaitContainer(ctx, r.ID, condition)
		}
		if err != nil {
			return container.WaitResponse{}, err
		}
		return waitResponse(st), nil
	}, nil
}

// waitAutoRemoved waits for the end of the container's run, removes it (unless the die event got there
// first) and waits for it to be gone, so `docker run --rm` ends even when events are late.
func (s *Service) waitAutoRemoved(ctx context.Context, r *record) (container.WaitResponse, error) {
	var st *models.ContainerState
	var err error
	if !r.running() && r.status() != "created" {
		st, err = s.pl.WaitContainer(ctx, r.ID, string(container.WaitConditionNotRunning))
	} else {
		st, err = s.waitNextExit(ctx, r)
	}
	if errors.Is(err, errdefs.ErrNotFound) {
		// Removed (by the die event) before we read it: the state it ended with was kept for us.
		if last := s.finalState(r.ID); last != nil {
			return waitResponse(last), nil
		}
		return container.WaitResponse{}, nil
	}
	if err != nil {
		return container.WaitResponse{}, err
	}
	s.autoRemoveEnded(ctx, r, st)
	if last, err := s.pl.WaitContainer(ctx, r.ID, string(container.WaitConditionRemoved)); err == nil && !last.Running {
		st = last
	}
	return waitResponse(st), nil
}

// waitResponse carries the exit code only: a process that could not start already failed the start
// request with its message, and Docker's CLI would print that message a second time as a wait error.
func waitResponse(st *models.ContainerState) container.WaitResponse {
	return container.WaitResponse{StatusCode: st.ExitCode}
}

// waitNextExit waits for the end of the run that follows the moment r was read (the current one when it
// ran). The client learns its wait is registered when the header arrives and may start the container at
// once, so a run that began and ended before the backend's wait was registered must count too: the boot
// count tells, checked when the wait begins, when the container dies or goes (and every second, should
// events be late).
func (s *Service) waitNextExit(ctx context.Context, r *record) (*models.ContainerState, error) {
	target := r.state().Boot
	if !r.running() {
		target++
	}
	ended := func(st *models.ContainerState) bool {
		return st != nil && !st.Running && st.Boot >= target && (st.Status == nil || *st.Status != "created")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		st  *models.ContainerState
		err error
	}
	backend := make(chan result, 1)
	go func() {
		st, err := s.pl.WaitContainer(ctx, r.ID, string(container.WaitConditionNextExit))
		backend <- result{st, err}
	}()
	var exited *exitRead // the container's read after the die event that woke this wait
	for {
		wake := s.exitWaker(r.ID)
		var info *models.ContainerInfo
		var err error
		if exited != nil {
			select {
			case <-exited.done:
				info, err = exited.info, exited.err
			case res := <-backend: // the backend saw the end already: no need to wait for the die's read
				return res.st, res.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		} else {
			info, err = s.pl.GetContainer(ctx, r.ID)
		}
		if err != nil {
			return nil, err
		}
		if ended(info.State) {
			return info.State, nil
		}
		exited = nil
		select {
		case res := <-backend:
			return res.st, res.err
		case <-wake.ch:
			exited = wake.exited
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
