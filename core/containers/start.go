package containers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Start is POST /containers/{id}/start. An already running container is "not modified" (304). A process
// that could not be started is Docker's start error, from which the docker CLI derives exit code 126 or 127.
func (s *Service) Start(ctx context.Context, ref string) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if r.state().Paused {
		return dockermsg.StartPaused.Err()
	}
	if r.running() {
		return dockermsg.AlreadyStarted.Err(r.ID)
	}
	s.userStarting(ctx, r)
	return s.start(ctx, r)
}

func (s *Service) start(ctx context.Context, r *record) error {
	// An auto-remove container that dies at once must not be removed under its own start request.
	done := make(chan struct{})
	s.mu.Lock()
	s.starting[r.ID] = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.starting[r.ID] == done {
			delete(s.starting, r.ID)
		}
		s.mu.Unlock()
		close(done)
	}()
	if r.spec.HoldForAttach && !s.clientAttaching(r.ID) {
		stop := s.release(ctx, r.ID)
		defer stop()
	}
	info, err := s.pl.StartContainer(ctx, r.ID)
	if err != nil {
		// dockerd removes an auto-remove container whose start failed: `docker run --rm` waits for that.
		if r.HostConfig.AutoRemove && !errdefs.Is(err, errdefs.ErrNotModified) {
			if rerr := s.pl.RemoveContainer(context.WithoutCancel(ctx), r.ID, true); rerr == nil {
				s.removeVolumes(context.WithoutCancel(ctx), s.anonymousVolumes(ctx, r))
			}
		}
		return err
	}
	s.log.Info("container started", "container", r.ID)
	return startError(info.State)
}

// startError is Docker's error for a process the guest could not start. A missing or unusable executable
// (exit 126/127) is the runtime's "failed to create task for container: ... <the tether's message>: unknown",
// whose "no such file or directory", "executable file not found" or "permission denied" the docker CLI turns
// into exit code 127 or 126. Anything else (exit 128: a user or group not in the image, say) is what dockerd
// finds while it prepares the process, answered as its own message alone, a 500: the CLI exits 125.
func startError(st *models.ContainerState) error {
	if st == nil || st.Running || st.Error == "" {
		return nil
	}
	switch st.ExitCode {
	case 126, 127:
		return fmt.Errorf("failed to create task for container: failed to create shim task: OCI runtime create failed: "+
			"runc create failed: unable to start container process: error during container init: %s: unknown: %w",
			st.Error, errdefs.ErrInvalid)
	case 128:
		return fmt.Errorf("%s: %w", st.Error, errdefs.ErrSystem)
	}
	return nil
}

// clientAttaching reports whether a client attach waits for the container's process.
func (s *Service) clientAttaching(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attaching[id] > 0
}

// release lets a process held for its first attach (RunBlock) run when nobody attaches: once the
// containerVM is on, it opens an attach of no stream and keeps it until stop is called (after the start
// returned), so the backend sees a session for as long as the guest needs to notice it.
func (s *Service) release(ctx context.Context, id string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.waitRunning(ctx, id); err != nil {
			return
		}
		st, err := s.pl.AttachContainer(ctx, id, sdk.AttachOptions{})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("could not release the process held for an attach", "container", id, "err", err)
			}
			return
		}
		<-ctx.Done()
		st.Close()
	}()
	return func() { cancel(); <-done }
}

// waitRunning returns once the container runs, or fails when it is removed or ctx ends. Events wake it; a
// poll covers a backend whose events are late or missing.
func (s *Service) waitRunning(ctx context.Context, id string) error {
	delay := 50 * time.Millisecond
	for {
		wake := s.waker(id)
		info, err := s.pl.GetContainer(ctx, id)
		if err != nil {
			return err
		}
		if info.State != nil && info.State.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake.ch:
			if wake.action == events.ActionStart {
				return nil // the backend published the start once the guest reported its process
			}
		case <-time.After(delay):
			delay = min(delay*2, time.Second)
		}
	}
}

// Restart is POST /containers/{id}/restart: stop (when running), then start.
func (s *Service) Restart(ctx context.Context, ref, signal string, timeout *int) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if r.running() {
		s.userStopping(ctx, r, true)
		if err := s.stop(ctx, r, signal, timeout); err != nil && !errors.Is(err, errdefs.ErrNotModified) {
			return err
		}
	}
	s.userStarting(ctx, r)
	return s.start(ctx, r)
}

// parseSignal accepts Docker's signal forms: a name with or without SIG, any case, or a number.
func parseSignal(sig string) (string, error) {
	if sig == "" {
		return "", nil
	}
	up := strings.ToUpper(sig)
	if strings.Trim(up, "0123456789") == "" {
		return up, nil
	}
	if !strings.HasPrefix(up, "SIG") {
		up = "SIG" + up
	}
	if strings.Trim(strings.TrimPrefix(up, "SIG"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-") != "" {
		return "", dockermsg.InvalidSignal.Err(sig)
	}
	return up, nil
}
