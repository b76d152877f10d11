package vsphere

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/tether/wire"
)

// poolProbes keep the last probe of the pool (vm_reads.go) for as long as nothing can have changed since it
// began, so that a listing, or a description of one container, answers without a round trip while the pool
// is quiet: `docker ps` of 50 sleeping containers asks vSphere nothing.
//
// What can change a probe's answer, and what says so:
//   - this process's own calls: every vSphere method but a read of VMs' properties (a reconfigure, a power
//     operation, a create, an unregister, the read of a task) marks the probe stale when it is sent and again
//     when its answer comes (probesStaleOn), so an operation whose end a client has seen is in every later
//     answer;
//   - anything else (the guest's status write, the hypervisor powering a halted guest off, an administrator):
//     the watch, whose batch marks each VM it names dirty before it reads the VM again, and whose read then
//     takes the VM's place in the kept probe; a guest's status notice (nudge) does the same at once. The one
//     lag is the watch's: a change nobody here made or was told of is in the answers once the watch reports
//     it (vcsim batches changes every 20 ms).
//
// A probe is not answered again while a VM is dirty (its read failed), when the watch is not following the
// pool (before its first update set, after it failed), nor after probesKeptFor: what neither the watch nor a
// notice reports (a guest's status write without its notice, on a vSphere that gives guestinfo writes no new
// changeVersion) is then in the answers within that bound.
type poolProbes struct {
	gen     atomic.Uint64 // counts this process's calls after which the kept probes may not be what vSphere would say
	changes *sdk.Changes  // the backend's change clock: moved with gen, with every mark and after every read
	live    atomic.Bool   // the watch follows the pool
	watchPC atomic.Value  // the watch's collector (a types.ManagedObjectReference): its waits are the watch's business

	mu     sync.Mutex
	clock  uint64                                     // counts the watch's marks
	marked uint64                                     // the clock of the last mark
	dirty  map[types.ManagedObjectReference]uint64    // VMs the watch named and has not read since, with their marks
	single map[types.ManagedObjectReference]keptProbe // probes of one VM (describeVM)
	born   map[types.ManagedObjectReference]bornVM    // VMs this process created, as their create describes them
	left   map[types.ManagedObjectReference]leftVM    // VMs taken out of the kept probes (gone, drop)
	kept   bool                                       // a probe of the pool is kept (an empty pool's is empty)
	probes []vmProbe                                  // shared, never changed once kept (a change copies it)
	byRef  map[types.ManagedObjectReference]int
	began  map[types.ManagedObjectReference]uint64 // the readSeq of the read each entry of probes came from
	gen0   uint64                                  // gen when the kept probe began
	seq    uint64                                  // the readSeq of the kept probe (containerVM.seq)
	at     time.Time                               // when the kept probe began
}

// keptProbe is a probe of one VM with when it began.
type keptProbe struct {
	p vmProbe
	probeStart
}

// probesKeptFor bounds the age of a probe that is answered again.
const probesKeptFor = 2 * time.Second

// stale says the kept probes may no longer be what vSphere would answer.
func (p *poolProbes) stale() {
	p.gen.Add(1)
	p.bump()
}

// bump moves the backend's change clock (sdk.ChangeReporter): its answers about containers may change now.
func (p *poolProbes) bump() {
	if p.changes != nil {
		p.changes.Bump()
	}
}

// setLive says whether the watch follows the pool; either way the kept probes are stale.
func (p *poolProbes) setLive(live bool) {
	p.live.Store(live)
	p.stale()
}

// probeStart is what a probe beginning now is kept with.
type probeStart struct {
	gen, seq, clock uint64
	at              time.Time
}

func (b *Backend) beginProbe() probeStart {
	p := &b.ctr.probes
	p.mu.Lock()
	clock := p.clock
	p.mu.Unlock()
	return probeStart{gen: p.gen.Load(), seq: b.ctr.readSeq.Add(1), clock: clock, at: time.Now()}
}

// keep records probes of the pool, begun at s, unless a later one is kept or the watch marked a VM since s:
// the probe may predate that change, and the watch's read of the VM may already have come.
func (p *poolProbes) keep(s probeStart, probes []vmProbe) {
	byRef := make(map[types.ManagedObjectReference]int, len(probes))
	for i, pr := range probes {
		byRef[pr.ref] = i
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if (p.kept && s.gen < p.gen0) || p.marked > s.clock {
		return
	}
	for ref, mark := range p.dirty {
		if mark <= s.clock {
			delete(p.dirty, ref) // marked before the probe began: the probe saw the change
		}
	}
	p.kept, p.probes, p.byRef, p.gen0, p.seq, p.at = true, probes, byRef, s.gen, s.seq, s.at
	p.began = map[types.ManagedObjectReference]uint64{}
}

// leftVM is when a VM was taken out of the kept probes: the readSeq then, and the time.
type leftVM struct {
	seq uint64
	at  time.Time
}

// leftKeptFor bounds how long a VM that left is remembered: a read that began before it left and answers
// later than this is older than any kept probe may be.
const leftKeptFor = time.Minute

// leftBefore says ref left the pool after a read that began at seq (which must not put it back). Called with
// p.mu held.
func (p *poolProbes) leftBefore(ref types.ManagedObjectReference, seq uint64) bool {
	l, ok := p.left[ref]
	return ok && seq <= l.seq
}

// noteLeft remembers that ref left the pool now, readSeq seq, and forgets what left long ago. Called with
// p.mu held.
func (p *poolProbes) noteLeft(ref types.ManagedObjectReference, seq uint64) {
	if p.left == nil {
		p.left = map[types.ManagedObjectReference]leftVM{}
	}
	for r, l := range p.left {
		if time.Since(l.at) > leftKeptFor {
			delete(p.left, r)
		}
	}
	p.left[ref] = leftVM{seq: seq, at: time.Now()}
}

// keepOne records the probe of one VM, begun at s.
func (p *poolProbes) keepOne(s probeStart, pr vmProbe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.dirty[pr.ref]; ok && m > s.clock {
		return
	}
	if p.leftBefore(pr.ref, s.seq) {
		return // a probe of a VM that has left since it began
	}
	if p.single == nil || len(p.single) >= 1024 {
		p.single = map[types.ManagedObjectReference]keptProbe{}
	}
	if old, ok := p.single[pr.ref]; !ok || old.gen <= s.gen {
		p.single[pr.ref] = keptProbe{p: pr, probeStart: s}
	}
}

// mark says the watch is about to read refs again, after a change: they are dirty until then. It returns
// the clock to give refresh and drop.
func (p *poolProbes) mark(refs []types.ManagedObjectReference) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.markLocked(refs...)
}

// markLocked is mark with p.mu held.
func (p *poolProbes) markLocked(refs ...types.ManagedObjectReference) uint64 {
	if p.dirty == nil {
		p.dirty = map[types.ManagedObjectReference]uint64{}
	}
	for _, ref := range refs {
		p.clock++
		p.dirty[ref] = p.clock
	}
	p.marked = p.clock
	p.bump()
	return p.clock
}

// refresh puts pr, from the watch's read (readSeq seq) begun after mark, in the kept probe of the pool.
func (p *poolProbes) refresh(pr vmProbe, mark, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.dirty[pr.ref]; ok && m > mark {
		return // marked again since: a later read refreshes it
	}
	delete(p.dirty, pr.ref)
	p.put(pr, seq)
}

// observe puts pr, from a full read (readSeq seq) of this process, in the kept probe of the pool when it is
// newer than what is there: a read that saw a change before the watch reported it (a waiter's).
func (p *poolProbes) observe(pr vmProbe, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.put(pr, seq)
}

// put replaces ref's entry with pr, read at seq, unless the entry comes from a later read.
func (p *poolProbes) put(pr vmProbe, seq uint64) {
	if p.leftBefore(pr.ref, seq) {
		return // a read of a VM that has left since it began: it must not come back
	}
	if k, ok := p.single[pr.ref]; ok && k.seq <= seq {
		delete(p.single, pr.ref)
	}
	if !p.kept || seq < p.seq || seq < p.began[pr.ref] {
		return
	}
	p.began[pr.ref] = seq
	probes := append([]vmProbe(nil), p.probes...)
	if i, ok := p.byRef[pr.ref]; ok {
		probes[i] = pr
		p.probes = probes
		return
	}
	byRef := maps.Clone(p.byRef)
	byRef[pr.ref] = len(probes)
	p.probes, p.byRef = append(probes, pr), byRef
}

// drop takes ref, which left the pool (the watch's batch begun after mark; seq is the readSeq now), out of
// the kept probes.
func (p *poolProbes) drop(ref types.ManagedObjectReference, mark, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.dirty[ref]; ok && m <= mark {
		delete(p.dirty, ref)
	}
	p.removeLocked(ref)
	p.noteLeft(ref, seq)
}

// removeLocked takes ref out of the kept probes. Called with p.mu held.
func (p *poolProbes) removeLocked(ref types.ManagedObjectReference) {
	delete(p.single, ref)
	i, ok := p.byRef[ref]
	if !ok {
		return
	}
	probes := append(append([]vmProbe(nil), p.probes[:i]...), p.probes[i+1:]...)
	byRef := make(map[types.ManagedObjectReference]int, len(probes))
	for j, pr := range probes {
		byRef[pr.ref] = j
	}
	p.probes, p.byRef = probes, byRef
}

// current is the kept probe of the pool while nothing can have changed since it began, with its readSeq.
func (p *poolProbes) current() ([]vmProbe, uint64, bool) {
	if !p.live.Load() {
		return nil, 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.notCurrentLocked() != "" {
		return nil, 0, false
	}
	return p.probes, p.seq, true
}

// notKept says why the kept probe of the pool is not current ("" when it is), for the debug log.
func (p *poolProbes) notKept() string {
	if !p.live.Load() {
		return "the watch is not following the pool"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.notCurrentLocked()
}

// notCurrentLocked is notKept's answer, the watch aside: why the kept probe of the pool may not be what vSphere
// would say. Called with p.mu held.
func (p *poolProbes) notCurrentLocked() string {
	switch {
	case !p.kept:
		return "no probe kept"
	case p.gen0 != p.gen.Load():
		return "a change of any VM since"
	case len(p.dirty) > 0:
		return "a VM changed and not read since"
	case time.Since(p.at) > probesKeptFor:
		return "older than probesKeptFor"
	}
	return ""
}

// one is the view of ref of the kept probe of the pool, or else of ref alone, while it is current; found is
// false when no current probe saw ref.
func (p *poolProbes) one(ref types.ManagedObjectReference) (pr vmProbe, seq uint64, found bool) {
	if !p.live.Load() {
		return vmProbe{}, 0, false
	}
	gen := p.gen.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dirty := p.dirty[ref]; dirty {
		return vmProbe{}, 0, false
	}
	if i, ok := p.byRef[ref]; ok && p.gen0 == gen && time.Since(p.at) <= probesKeptFor {
		seq := p.seq
		if s, ok := p.began[ref]; ok {
			seq = s
		}
		return p.probes[i], seq, true
	}
	if k, ok := p.single[ref]; ok && k.gen == gen && time.Since(k.at) <= probesKeptFor {
		return k.p, k.seq, true
	}
	return vmProbe{}, 0, false
}

// probeOf is the probe of the VM of a full read, at version.
func probeOf(c *containerVM, version string) vmProbe {
	status, has := c.extra[wire.KeyStatus]
	return vmProbe{ref: c.ref, name: c.vmName, version: version, power: c.power, status: status, hasStatus: has}
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
	quiet := s.changesNothing(req)
	ref, one := ctx.Value(changesOnlyKey{}).(types.ManagedObjectReference)
	change := func() {
		if one {
			s.probes.mark([]types.ManagedObjectReference{ref})
		} else {
			s.probes.stale()
		}
	}
	if !quiet {
		change()
	}
	err := s.next.RoundTrip(ctx, req, res)
	if !quiet {
		change()
	} else {
		// A read may see what the watch has not reported yet: answers made from it are newer than the ones
		// made before, so the change clock moves (the kept probes stay good: the watch marks the change).
		s.probes.bump()
	}
	return err
}

// changesOnlyKey tags a context whose vSphere calls change, or tell of the end of a change of, one VM only:
// its reconfigure, power operations, rename or unregister, and the reads of their tasks. probesStaleOn then
// marks that VM dirty, as the watch marks the VMs of its batches, rather than every kept probe stale: the
// probe of the pool is answered again once the VM has been read after the change (the watch reports it) or
// has left the pool, and the kept probes of the other VMs stay true meanwhile.
type changesOnlyKey struct{}

// changingOnly tags ctx: its calls change the VM ref and nothing else.
func changingOnly(ctx context.Context, ref types.ManagedObjectReference) context.Context {
	return context.WithValue(ctx, changesOnlyKey{}, ref)
}

// creating is what a create of the container id in flight is marked as, before its VM has a reference.
func creating(id string) types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "VirtualMachine", Value: "creating:" + id}
}

// bornVM is a VM this process has just created, described as its create made it (createdVM), with the
// mark its create left and when it was made.
type bornVM struct {
	c         *containerVM
	mark, gen uint64
	at        time.Time
}

// created ends the mark of a create in flight: the VM it made, ref, is dirty until the watch has read it
// (its batch names every VM that enters the pool), and until then c, the create's description of it, is
// what a read would say (newborn). A create that failed (ref is the zero value) may have left anything
// behind, so every kept probe is stale.
func (p *poolProbes) created(placeholder, ref types.ManagedObjectReference, c *containerVM) {
	if ref.Value == "" {
		p.stale()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ref.Value != "" {
		mark := p.markLocked(ref)
		if c != nil {
			if p.born == nil || len(p.born) >= 1024 {
				p.born = map[types.ManagedObjectReference]bornVM{}
			}
			p.born[ref] = bornVM{c: c.clone(), mark: mark, gen: p.gen.Load(), at: time.Now()}
		}
	}
	delete(p.dirty, placeholder)
}

// newborn is a copy of the description of ref its create made, while nothing can have changed the VM since:
// the only mark of it is still its create's (a batch of the watch naming it, any call of this process that
// changes it, marks it again), no change of unknown reach was made, the watch follows the pool, and it is
// not older than probesKeptFor. A new VM is off and has no guest, so what changes it is a call: this
// process's are marked at once, anyone else's once the watch reports them, as for every kept probe. The
// first reads of a container after its create (the resolves of `docker run`'s attach, wait and start)
// answer from it, without a round trip.
func (p *poolProbes) newborn(ref types.ManagedObjectReference) (*containerVM, bool) {
	if !p.live.Load() {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.born[ref]
	if !ok {
		return nil, false
	}
	if p.dirty[ref] != n.mark || p.gen.Load() != n.gen || time.Since(n.at) > probesKeptFor {
		delete(p.born, ref)
		return nil, false
	}
	return n.c.clone(), true
}

// gone takes ref, which this process has just unregistered (seq is the readSeq now), out of the kept probes:
// nothing about it can be true any more but its absence, which every later probe sees too, and a read of it
// that began before (a waiter's, a notice's) does not put it back.
func (p *poolProbes) gone(ref types.ManagedObjectReference, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clock++
	p.marked = p.clock
	delete(p.dirty, ref)
	p.removeLocked(ref)
	p.noteLeft(ref, seq)
}

// changesNothing says req can neither change a VM nor tell of a change made (a task's end).
func (s *staleOn) changesNothing(req soap.HasFault) bool {
	switch r := req.(type) {
	case *methods.WaitForUpdatesExBody:
		// The watch's own wait: its batches mark what they name (onVMUpdates).
		pc, _ := s.probes.watchPC.Load().(types.ManagedObjectReference)
		return r.Req != nil && pc.Value != "" && r.Req.This == pc
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
