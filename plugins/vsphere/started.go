package vsphere

import (
	"sync"
	"time"

	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// startedNotices are the tethers' word that a boot's process has started (a pending wire.StatusNotice), by
// container ID. The tether writes that boot's "running" status to guestinfo only once the process has run
// for a while; until then the VM, powered on without a status of the boot, reads as running, and what the
// notice adds is the pid and start time. A start waiting for its process answers on the notice, and a
// description of the running container takes the two from it until the status is there.
type startedNotices struct {
	mu sync.Mutex
	m  map[string]startedNotice
}

type startedNotice struct {
	wire.StatusNotice
	heard time.Time
}

// startedKept bounds how long a notice is kept: its status is written a fraction of a second later, or its
// VM is gone.
const startedKept = time.Minute

// put records n, a pending notice of container id.
func (s *startedNotices) put(id string, n wire.StatusNotice) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]startedNotice{}
	}
	for k, v := range s.m {
		if now.Sub(v.heard) > startedKept {
			delete(s.m, k)
		}
	}
	if old, ok := s.m[id]; ok && old.Boot > n.Boot {
		return // a late notice of an earlier boot
	}
	s.m[id] = startedNotice{StatusNotice: n, heard: now}
}

// get is the notice of container id's boot, if one was heard.
func (s *startedNotices) get(id string, boot int) (wire.StatusNotice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.m[id]
	if !ok || n.Boot != boot {
		return wire.StatusNotice{}, false
	}
	return n.StatusNotice, true
}

// forget drops container id's notice of a boot up to boot: its status is in guestinfo, or it has ended.
func (s *startedNotices) forget(id string, boot int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.m[id]; ok && n.Boot <= boot {
		delete(s.m, id)
	}
}

// noteStarted takes a tether's notice that its process has started.
func (b *Backend) noteStarted(id string, n wire.StatusNotice) {
	b.ctr.started.put(id, n)
	b.ctr.probes.bump() // the container's state says so from now on (withStarted)
}

// processStarted says whether c's tether has said that the process of c's current boot started.
func (b *Backend) processStarted(c *containerVM) bool {
	_, ok := b.ctr.started.get(c.id(), c.boot())
	return ok
}

// withStarted completes st, c's state, with the pid and start time of a notice of its boot while the guest
// has not written them yet, and forgets a notice once a status of its boot is written.
func (b *Backend) withStarted(c *containerVM, st *models.ContainerState) {
	id, boot := c.id(), c.boot()
	if c.guestStatus() != nil {
		b.ctr.started.forget(id, boot)
		return
	}
	if n, ok := b.ctr.started.get(id, boot); ok && st.Running && st.StartedAt == "" {
		st.Pid = int64(n.Pid)
		st.StartedAt = rfc3339(n.StartedAt)
	}
}
