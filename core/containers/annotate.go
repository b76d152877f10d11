package containers

import (
	"context"
	"maps"
	"sync"
)

// annotations are Docker's records kept with the containerVM; several writers (update, the restart
// policy, health checks) change them, each a read-modify-write of the whole set, so the writes to one
// container go one at a time.
type annotationLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (a *annotationLocks) of(id string) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.locks == nil {
		a.locks = map[string]*sync.Mutex{}
	}
	l, ok := a.locks[id]
	if !ok {
		l = &sync.Mutex{}
		a.locks[id] = l
	}
	return l
}

// annotate applies change to the container's current annotations and stores them.
func (s *Service) annotate(ctx context.Context, id string, change func(map[string]string)) error {
	l := s.annotations.of(id)
	l.Lock()
	defer l.Unlock()
	r, err := s.refresh(ctx, id)
	if err != nil {
		return err
	}
	a := maps.Clone(r.spec.Annotations)
	if a == nil {
		a = map[string]string{}
	}
	change(a)
	if maps.Equal(a, r.spec.Annotations) {
		return nil
	}
	_, err = s.pl.SetAnnotations(ctx, id, a)
	return err
}

// wake wakes whoever waits on the container's next event, as an event would.
func (s *Service) wake(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fire(s.wakers, id, "", nil)
}
