package containers

import (
	"context"
	"errors"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// autoRemoveTimeout bounds one auto-removal, which runs apart from any request.
const autoRemoveTimeout = 2 * time.Minute

// wake is closed at a container's next event (wakers), or at its next "die" or "destroy" (exitWakers): what
// ends a run. Before it is closed it is told the event's action and, for a die event, the container read once
// after it (exited), which the waits it wakes, the auto-removal and the restart policy share instead of
// reading it one each.
type wake struct {
	ch     chan struct{}
	action events.Action
	exited *exitRead
}

// waker returns what is closed at the container's next event.
func (s *Service) waker(id string) *wake { return s.wakeIn(s.wakers, id) }

// exitWaker returns what is closed at the container's next "die" or "destroy" event.
func (s *Service) exitWaker(id string) *wake { return s.wakeIn(s.exitWakers, id) }

func (s *Service) wakeIn(wakes map[string]*wake, id string) *wake {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := wakes[id]
	if !ok {
		w = &wake{ch: make(chan struct{})}
		wakes[id] = w
	}
	return w
}

// fire closes the wake of id in wakes, if any, with what the event says. Called with s.mu held.
func fire(wakes map[string]*wake, id string, action events.Action, exited *exitRead) {
	if w, ok := wakes[id]; ok {
		w.action, w.exited = action, exited
		close(w.ch)
		delete(wakes, id)
	}
}

// exitRead is one read of a container after its die event.
type exitRead struct {
	done chan struct{}
	info *models.ContainerInfo
	err  error
}

// readAfterExit reads the container once, in the background.
func (s *Service) readAfterExit(id string) *exitRead {
	er := &exitRead{done: make(chan struct{})}
	go func() {
		defer close(er.done)
		ctx, cancel := context.WithTimeout(context.Background(), autoRemoveTimeout)
		defer cancel()
		er.info, er.err = s.pl.GetContainer(ctx, id)
	}()
	return er
}

// afterExit is the container as exited read it, or as read now when there is no such read.
func (s *Service) afterExit(ctx context.Context, id string, exited *exitRead) (*record, error) {
	if exited == nil {
		return s.refresh(ctx, id)
	}
	return exited.record(ctx, id)
}

// record waits for the read and decodes it as refresh does.
func (er *exitRead) record(ctx context.Context, id string) (*record, error) {
	select {
	case <-er.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	switch {
	case errdefs.Is(er.err, errdefs.ErrNotFound):
		return nil, noSuchContainer(id)
	case er.err != nil:
		return nil, er.err
	}
	return decode(er.info), nil
}

// Observe takes one of the backend's Docker events: it wakes whoever waits on the container and removes an
// auto-remove container (docker run --rm) once it has died. The engine calls it for every event it
// publishes; the service publishes none itself, so nothing is reported twice.
func (s *Service) Observe(m events.Message) {
	if m.Type != events.ContainerEventType {
		return
	}
	id := m.Actor.ID
	var exited *exitRead
	if m.Action == events.ActionDie {
		exited = s.readAfterExit(id)
	}
	s.mu.Lock()
	fire(s.wakers, id, m.Action, exited)
	if m.Action == events.ActionDie || m.Action == events.ActionDestroy {
		fire(s.exitWakers, id, m.Action, exited)
	}
	s.mu.Unlock()
	switch m.Action {
	case events.ActionDie:
		go s.autoRemoveRead(context.Background(), id, exited, nil)
		s.unwatchHealth(id)
		go s.onExitRead(context.Background(), id, false, exited)
	case events.ActionStart:
		if _, none := s.healthless.Load(id); none {
			break // created here without a health check, which a container keeps for life
		}
		go func() {
			if r, err := s.refresh(context.Background(), id); err == nil {
				s.watchHealth(r)
			}
		}()
	case events.ActionDestroy:
		s.healthless.Delete(id)
		if name := m.Actor.Attributes["name"]; name != "" {
			s.names.forget(name)
		}
		s.unwatchHealth(id)
		s.cancelRestart(id)
		s.execs.forget(id)
	}
}

// removal is an auto-removal in progress; removed is set before done is closed.
type removal struct {
	done    chan struct{}
	removed bool
}

// autoRemove removes a container whose HostConfig says AutoRemove once it is not running. A container
// already gone is no error: the event path and a waiting `docker run --rm` may both get here.
func (s *Service) autoRemove(ctx context.Context, id string) { s.autoRemoveRead(ctx, id, nil, nil) }

// endedRun is what a waiter knows of a container whose run it saw end: r, its record from before the run, for
// what a container keeps for life (its HostConfig, its mounts), and st, its state read after the end.
type endedRun struct {
	r  *record
	st *models.ContainerState
}

// autoRemoveEnded is autoRemove by a waiter that saw the run end, without reading the container again: the
// removal itself still refuses a container that runs again by then.
func (s *Service) autoRemoveEnded(ctx context.Context, r *record, st *models.ContainerState) {
	s.autoRemoveRead(ctx, r.ID, nil, &endedRun{r: r, st: st})
}

// autoRemoveRead is autoRemove with the container's read after its die event, or a waiter's knowledge of
// its end, when there is one.
func (s *Service) autoRemoveRead(ctx context.Context, id string, exited *exitRead, ended *endedRun) {
	ctx, cancel := context.WithTimeout(ctx, autoRemoveTimeout)
	defer cancel()
	if exited != nil {
		// The read comes first: a waiter that saw the run end meanwhile removes the container without one.
		select {
		case <-exited.done:
		case <-ctx.Done():
			return
		}
	}
	// One removal at a time: the die event and the waiting `docker run --rm` both get here, and the second
	// then only finds the container gone instead of removing it again.
	mine := &removal{done: make(chan struct{})}
	for {
		s.mu.Lock()
		other, busy := s.removing[id]
		if !busy {
			s.removing[id] = mine
		}
		s.mu.Unlock()
		if !busy {
			break
		}
		select {
		case <-other.done:
			if other.removed {
				return
			}
		case <-ctx.Done():
			return
		}
	}
	defer func() {
		s.mu.Lock()
		delete(s.removing, id)
		s.mu.Unlock()
		close(mine.done)
	}()
	s.mu.Lock()
	starting := s.starting[id]
	s.mu.Unlock()
	if starting != nil {
		select {
		case <-starting:
		case <-ctx.Done():
			return
		}
		exited, ended = nil, nil // read after the start
	}
	var r *record
	var st *models.ContainerState
	if ended != nil {
		r, st = ended.r, ended.st
	} else {
		var err error
		if r, err = s.afterExit(ctx, id, exited); err != nil {
			return
		}
		st = r.state()
	}
	if !r.HostConfig.AutoRemove || st.Running {
		return
	}
	s.keepLastState(id, st)
	err := s.pl.RemoveContainer(ctx, id, false)
	switch {
	case err == nil:
		mine.removed = true
		s.log.Info("container auto-removed", "container", id, "name", r.Name)
		s.removeVolumes(ctx, s.anonymousVolumes(ctx, r)) // dockerd's auto-removal takes them too
	case errors.Is(err, errdefs.ErrNotFound):
	default:
		s.log.Warn("auto-remove failed", "container", id, "err", err)
	}
}

// Recover removes the auto-remove containers that exited while no endpoint watched (the engine calls it
// when it starts following the backend).
func (s *Service) Recover(ctx context.Context) error {
	all, err := s.list(ctx, sdk.ListFilter{})
	if err != nil {
		return err
	}
	for _, r := range all {
		if r.HostConfig.AutoRemove && r.status() == "exited" {
			s.autoRemove(ctx, r.ID)
		}
		s.watchHealth(r)
	}
	s.recoverRestarts(ctx, all)
	return nil
}

// lastStateKept is how long the final state of an auto-removed container stays for its `docker run --rm`
// to collect the exit code.
const lastStateKept = time.Minute

func (s *Service) keepLastState(id string, st *models.ContainerState) {
	s.mu.Lock()
	s.lastState[id] = st
	s.mu.Unlock()
	time.AfterFunc(lastStateKept, func() {
		s.mu.Lock()
		delete(s.lastState, id)
		s.mu.Unlock()
	})
}

// finalState is the state an auto-removed container ended with, when it is still kept.
func (s *Service) finalState(id string) *models.ContainerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastState[id]
}
