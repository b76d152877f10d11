package vsphere

import (
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// vmCache is the pool's VMs as this process last read them, so that listing the containers, describing one
// and finding one by name or ID prefix read memory instead of every VM's extraConfig from vSphere. It is a
// cache: vSphere stays the record, and a restarted endpoint fills it again from there.
//
// It is fed by every read of a VM this process makes: the watch's (vm_watch.go), which re-reads each VM the
// property collector reports changed, and the direct reads of the operations. Each read takes a sequence
// number before it is sent, and its result replaces the cached one only when it started later than the read
// (or the invalidation) that put the cached one there: a slow read that overlapped a change never hides it.
//
// A write of this process invalidates the VM when its vSphere task ends (taskEnds), before the writer goes
// on, so whatever the writer's client asks next re-reads that VM rather than trust a copy from before the
// write; the watch catches up a little later. Changes made elsewhere (the guest's status, another client)
// reach the cache through the watch only, as they reach a Docker engine through its events.
//
// Until the watch has read the whole pool once (ready), and after it lost track (an error, a restart),
// listings go to vSphere.
type vmCache struct {
	mu    sync.Mutex
	seq   uint64
	ready bool
	vms   map[types.ManagedObjectReference]*cachedVM
	byID  map[string]types.ManagedObjectReference
}

// cachedVM is one VM's entry.
type cachedVM struct {
	c     *containerVM // nil: the VM is gone
	seq   uint64       // when the read that gave c started, or when the entry was invalidated
	stale bool         // invalidated: read the VM again before trusting c
	gone  time.Time    // when the VM was seen gone, for dropping the entry later
	// watched says the watch's filter holds the VM, so its changes reach the cache. A VM this process made
	// joins the filter a little later (on vcsim, only with a later change, and not always), and is read
	// again until then.
	watched bool
}

// goneKept is how long the entry of a VM seen gone stays, so that a read which started before the VM went
// and answers late does not bring it back. No read takes that long.
const goneKept = 5 * time.Minute

// begin numbers a read about to be sent.
func (vc *vmCache) begin() uint64 {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.seq++
	return vc.seq
}

func (vc *vmCache) init() {
	if vc.vms == nil {
		vc.vms = map[types.ManagedObjectReference]*cachedVM{}
		vc.byID = map[string]types.ManagedObjectReference{}
	}
}

// put records c, read by the read numbered start, unless something newer is recorded. watched says the
// read is the watch's, of a VM its filter reported.
func (vc *vmCache) put(start uint64, c *containerVM, watched bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.init()
	e := vc.vms[c.ref]
	if e != nil {
		watched = watched || e.watched
		if e.seq >= start {
			e.watched = watched
			return
		}
	}
	vc.vms[c.ref] = &cachedVM{c: c, seq: start, watched: watched}
	if id := c.id(); id != "" {
		vc.byID[id] = c.ref
	}
}

// drop records that the read numbered start found ref gone.
func (vc *vmCache) drop(start uint64, ref types.ManagedObjectReference) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.init()
	e := vc.vms[ref]
	if e != nil && e.seq >= start {
		return
	}
	if e != nil && e.c != nil && vc.byID[e.c.id()] == ref {
		delete(vc.byID, e.c.id())
	}
	now := time.Now()
	vc.vms[ref] = &cachedVM{seq: start, gone: now}
	for r, o := range vc.vms {
		if o.c == nil && now.Sub(o.gone) > goneKept {
			delete(vc.vms, r)
		}
	}
}

// invalidate makes the next read of ref go to vSphere: this process changed it.
func (vc *vmCache) invalidate(ref types.ManagedObjectReference) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.seq++
	if e := vc.vms[ref]; e != nil && e.c != nil {
		e.seq, e.stale = vc.seq, true
	}
}

// unwatch forgets which VMs the watch's filter holds: a new filter is about to report them.
func (vc *vmCache) unwatch() {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	for _, e := range vc.vms {
		e.watched = false
	}
}

// setReady says whether the cache holds the whole pool and the watch keeps it current.
func (vc *vmCache) setReady(ready bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.ready = ready
}

// prune drops the VMs not in seen from a cache that a read of the whole pool, numbered start, has just
// refreshed: they left the pool while nobody watched.
func (vc *vmCache) prune(start uint64, seen map[types.ManagedObjectReference]bool) {
	vc.mu.Lock()
	var gone []types.ManagedObjectReference
	for ref, e := range vc.vms {
		if e.c != nil && !seen[ref] && e.seq < start {
			gone = append(gone, ref)
		}
	}
	vc.mu.Unlock()
	for _, ref := range gone {
		vc.drop(start, ref)
	}
}

// all returns every VM the cache holds and the references of those to read again (invalidated, or not yet
// watched); ok is false when the cache does not hold the whole pool.
func (vc *vmCache) all() (vms []*containerVM, stale []types.ManagedObjectReference, ok bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if !vc.ready {
		return nil, nil, false
	}
	for ref, e := range vc.vms {
		switch {
		case e.c == nil:
		case e.stale || !e.watched:
			stale = append(stale, ref)
		default:
			vms = append(vms, e.c)
		}
	}
	return vms, stale, true
}

// byContainer returns the cached VM of container id, and whether it may be trusted: known, not stale, and
// kept current by the watch.
// ref is the VM's reference whenever the cache ever knew it.
func (vc *vmCache) byContainer(id string) (c *containerVM, ref types.ManagedObjectReference, fresh bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	ref, known := vc.byID[id]
	if !known || !vc.ready {
		return nil, ref, false
	}
	e := vc.vms[ref]
	if e == nil || e.c == nil || e.stale || !e.watched {
		return nil, ref, false
	}
	return e.c, ref, true
}

// isReady reports whether the cache holds the whole pool.
func (vc *vmCache) isReady() bool {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return vc.ready
}
