package vsphere

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// poolProbes keep the last probe of the pool (vm_reads.go) for as long as nothing can have changed since it
// began, so that a listing, or a description of one container, answers without a round trip while the pool
// is quiet: `docker ps` of 50 sleeping containers asks vSphere nothing.
//
// What can change a probe's answer, and what says so:
//   - this process's own calls: every vSphere method but a read of VMs' properties (a reconfigure, a power
//     operation, a create, an unregister, the read of a task, the watch's wait) marks the probe stale when it
//     is sent and again when its answer comes (probesStaleOn), so an operation whose end a client has seen
//     is in every later answer;
//   - the guest: its status notice (nudge) marks it stale before its waiters are woken;
//   - anything else (the hypervisor powering a halted guest off, an administrator): the watch, whose every
//     batch marks it stale. That is the one lag: a change nobody here made or was told of is in the answers
//     once the watch reports it (vcsim batches changes every 20 ms).
//
// A probe is not answered again when the watch is not following the pool (before its first update set,
// after it failed), nor after probesKeptFor: what neither the watch nor a notice reports (a guest's status
// write without its notice, on a vSphere that gives guestinfo writes no new changeVersion) is then in the
// answers within that bound.
type poolProbes struct {
	gen  atomic.Uint64 // counts the events after which the kept probe may not be what vSphere would say
	live atomic.Bool   // the watch follows the pool

	mu     sync.Mutex
	single map[types.ManagedObjectReference]keptProbe // probes of one VM (describeVM)
	probes []vmProbe                                  // shared, never changed once kept
	byRef  map[types.ManagedObjectReference]int
	gen0   uint64    // gen when the kept probe began
	seq    uint64    // the readSeq of the kept probe (containerVM.seq)
	at     time.Time // when the kept probe began
}

// keptProbe is a probe of one VM with when it began.
type keptProbe struct {
	p vmProbe
	probeStart
}

// probesKeptFor bounds the age of a probe that is answered again.
const probesKeptFor = 2 * time.Second

// stale says the kept probe may no longer be what vSphere would answer.
func (p *poolProbes) stale() { p.gen.Add(1) }

// setLive says whether the watch follows the pool; either way the kept probe is stale.
func (p *poolProbes) setLive(live bool) {
	p.live.Store(live)
	p.stale()
}

// probeStart is what a probe beginning now is kept with.
type probeStart struct {
	gen, seq uint64
	at       time.Time
}

func (b *Backend) beginProbe() probeStart {
	return probeStart{gen: b.ctr.probes.gen.Load(), seq: b.ctr.readSeq.Add(1), at: time.Now()}
}

// keep records probes, begun at s, unless a later one is kept.
func (p *poolProbes) keep(s probeStart, probes []vmProbe) {
	byRef := make(map[types.ManagedObjectReference]int, len(probes))
	for i, pr := range probes {
		byRef[pr.ref] = i
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.probes != nil && s.gen < p.gen0 {
		return
	}
	p.probes, p.byRef, p.gen0, p.seq, p.at = probes, byRef, s.gen, s.seq, s.at
}

// keepOne records the probe of one VM, begun at s.
func (p *poolProbes) keepOne(s probeStart, pr vmProbe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.single == nil || len(p.single) >= 1024 {
		p.single = map[types.ManagedObjectReference]keptProbe{}
	}
	if old, ok := p.single[pr.ref]; !ok || old.gen <= s.gen {
		p.single[pr.ref] = keptProbe{p: pr, probeStart: s}
	}
}

// current is the kept probe while nothing can have changed since it began, with its readSeq.
func (p *poolProbes) current() ([]vmProbe, uint64, bool) {
	if !p.live.Load() {
		return nil, 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.probes == nil || p.gen0 != p.gen.Load() || time.Since(p.at) > probesKeptFor {
		return nil, 0, false
	}
	return p.probes, p.seq, true
}

// one is the view of ref of the kept probe of the pool, or else of ref alone, while it is current; found is
// false when no current probe saw ref.
func (p *poolProbes) one(ref types.ManagedObjectReference) (pr vmProbe, seq uint64, found bool) {
	if probes, seq, ok := p.current(); ok {
		p.mu.Lock()
		i, found := p.byRef[ref]
		p.mu.Unlock()
		if found && i < len(probes) && probes[i].ref == ref {
			return probes[i], seq, true
		}
	}
	if !p.live.Load() {
		return vmProbe{}, 0, false
	}
	p.mu.Lock()
	k, ok := p.single[ref]
	p.mu.Unlock()
	if !ok || k.gen != p.gen.Load() || time.Since(k.at) > probesKeptFor {
		return vmProbe{}, 0, false
	}
	return k.p, k.seq, true
}

// probesStaleOn marks p stale around every call of rt that may change what a probe of the pool says: all
// but reads of properties that name no task, the continuation of a read, and the session's own calls.
func probesStaleOn(rt soap.RoundTripper, p *poolProbes) soap.RoundTripper {
	return &staleOn{next: rt, probes: p}
}

type staleOn struct {
	next   soap.RoundTripper
	probes *poolProbes
}

func (s *staleOn) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	quiet := changesNothing(req)
	if !quiet {
		s.probes.stale()
	}
	err := s.next.RoundTrip(ctx, req, res)
	if !quiet {
		s.probes.stale()
	}
	return err
}

// changesNothing says req can neither change a VM nor tell of a change made (a task's end).
func changesNothing(req soap.HasFault) bool {
	switch r := req.(type) {
	case *methods.RetrievePropertiesBody:
		return r.Req != nil && !namesTask(r.Req.SpecSet)
	case *methods.RetrievePropertiesExBody:
		return r.Req != nil && !namesTask(r.Req.SpecSet)
	case *methods.ContinueRetrievePropertiesExBody, *methods.CurrentTimeBody, *methods.RetrieveServiceContentBody,
		*methods.SessionIsActiveBody:
		return true
	}
	return false
}

// namesTask says a retrieval reads a task (a wait for one), whose end is the end of an operation.
func namesTask(specs []types.PropertyFilterSpec) bool {
	for _, s := range specs {
		for _, o := range s.ObjectSet {
			if o.Obj.Type == "Task" {
				return true
			}
		}
		for _, ps := range s.PropSet {
			if ps.Type == "Task" {
				return true
			}
		}
	}
	return false
}
