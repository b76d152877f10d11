package vsphere

import (
	"context"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// vmWatch follows the VCH pool's VMs with a property-collector filter (WaitForUpdatesEx), so that waiting
// for a container (start, stop, wait) needs no polling and the backend sees containers exit on their own,
// which is when it publishes "die". It caches nothing that answers a query: each batch of updates is handed to
// the waiters of that moment with the VMs the watch read after it, and then forgotten.
type vmWatch struct {
	mu      sync.Mutex
	changed *vmChange                            // the next batch's; closed, and replaced, after every batch
	exited  map[types.ManagedObjectReference]int // the boot whose exit was seen, for "die" once per boot

	cancel context.CancelFunc
	done   chan struct{}
}

// vmChange is one batch of the watch: done is closed once it has happened, and then says which VMs changed
// and which batch comes next.
type vmChange struct {
	done chan struct{}
	next *vmChange
	// all stands for every VM: the watch failed or restarted, and may have missed changes.
	all bool
	// vms are the VMs the batch named, each with what the watch read of it after the change (nil when the VM
	// left the pool or could not be read).
	vms map[types.ManagedObjectReference]*containerVM
}

func newVMChange() *vmChange { return &vmChange{done: make(chan struct{})} }

// names tells whether the batch concerns ref, and what the watch read of it after the change.
func (c *vmChange) names(ref types.ManagedObjectReference) (bool, *containerVM) {
	if c.all {
		return true, nil
	}
	vm, ok := c.vms[ref]
	return ok, vm
}

// watchedProperties are the ones whose changes matter to a container's state. config.changeVersion moves
// with every reconfigure, so it stands for the extraConfig (the guest's status included) without the
// collector sending, or vcsim deep-copying on every change, each VM's whole extraConfig: the watch re-reads
// the one VM that changed anyway.
var watchedProperties = []string{"config.changeVersion", "runtime.powerState"}

// startWatch runs the watch until stopWatch.
func (b *Backend) startWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	w := &b.ctr.watch
	w.changed = newVMChange()
	w.exited = map[types.ManagedObjectReference]int{}
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		backoff := time.Second
		for {
			err := b.watchOnce(ctx)
			b.ctr.probes.setLive(false)
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("the containerVM watch stopped; restarting it", "err", err, "in", backoff)
			w.broadcast(nil) // waiters re-read rather than trust a watch that may have missed changes
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}()
	if a := b.ctr.attach; a != nil {
		a.setOnStatus(b.nudge, b.noteStarted) // the watch's state is ready: a guest's status notice may wake waiters now
	}
}

func (b *Backend) stopWatch() {
	if w := &b.ctr.watch; w.cancel != nil {
		w.cancel()
		<-w.done
	}
	b.ctr.probes.setLive(false)
}

// watchMaxWait bounds each long poll. An idle one costs a round trip, and it keeps a wait that was orphaned
// (its session gone, so it cannot be cancelled) from holding the server for ever.
const watchMaxWait = 10

// watchOnce follows the pool's VMs (its "vm" property traversed, so VMs created later join the filter) with
// its own collector until ctx ends or vSphere fails.
func (b *Backend) watchOnce(ctx context.Context) error {
	pc, err := b.collector().Create(ctx)
	if err != nil {
		return classify(err, "create a property collector")
	}
	defer func() {
		bg, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = pc.CancelWaitForUpdates(bg) // ends our wait on the server at once
		_ = pc.Destroy(bg)
	}()
	filter := types.CreateFilter{Spec: types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{
			Obj:       b.where.pool.Reference(),
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: b.where.pool.Reference().Type, Path: "vm"}},
		}},
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: watchedProperties}},
	}}
	b.ctr.probes.watchPC.Store(pc.Reference())
	if _, err := pc.CreateFilter(ctx, filter); err != nil {
		return classify(err, "watch pool "+b.where.pool.InventoryPath)
	}
	req := types.WaitForUpdatesEx{This: pc.Reference(), Options: &types.WaitOptions{MaxWaitSeconds: types.NewInt32(watchMaxWait)}}
	// The first update set (in pages, while Truncated) lists the VMs already there: exits among them happened
	// before this watch looked. A VM entering later was made while it watched.
	initial := true
	for {
		res, err := methods.WaitForUpdatesEx(ctx, b.sess.client, &req)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return classify(err, "watch pool "+b.where.pool.InventoryPath)
		}
		set := res.Returnval
		if set == nil {
			continue // nothing changed within watchMaxWait
		}
		req.Version = set.Version
		for _, fs := range set.FilterSet {
			b.onVMUpdates(ctx, fs.ObjectSet, initial)
		}
		if initial && (set.Truncated == nil || !*set.Truncated) {
			initial = false
			b.ctr.probes.setLive(true) // from now on every change of the pool's VMs comes in a batch
		}
	}
}

// onVMUpdates publishes "die" for containers seen exiting, then wakes the waiters with what it read. initial
// says the updates list the VMs there when the watch began.
func (b *Backend) onVMUpdates(ctx context.Context, updates []types.ObjectUpdate, initial bool) {
	refs := make([]types.ManagedObjectReference, 0, len(updates))
	for _, u := range updates {
		refs = append(refs, u.Obj)
	}
	mark := b.ctr.probes.mark(refs) // before anyone hears of the change: the kept probes do not answer for them
	w := &b.ctr.watch
	read := make(map[types.ManagedObjectReference]*containerVM, len(updates))
	for _, u := range updates {
		if u.Kind == types.ObjectUpdateKindLeave {
			read[u.Obj] = nil
			b.ctr.probes.drop(u.Obj, mark, b.ctr.readSeq.Load())
			w.mu.Lock()
			delete(w.exited, u.Obj)
			w.mu.Unlock()
		}
	}
	for _, u := range updates {
		// One read serves every update of the VM in the batch: it was made after all of them. A VM that left
		// the pool in the batch, or whose read failed, is not read (again): its waiters read it themselves.
		c, seen := read[u.Obj]
		if u.Kind == types.ObjectUpdateKindLeave || (seen && c == nil) {
			continue
		}
		if !seen {
			var err error
			if c, err = b.readVM(ctx, u.Obj); err != nil {
				read[u.Obj] = nil
				continue
			}
			read[u.Obj] = c
			if c.version != "" {
				b.ctr.probes.refresh(probeOf(c, c.version), mark, c.seq)
			}
		}
		if c.id() != "" {
			// A VM there when the watch began (at start, or after a restart of the watch) is only recorded: its
			// exit, if any, happened before we looked. One that entered later may have been made, started and
			// ended between two batches: its "die" is published.
			b.noteExit(c, u.Kind == types.ObjectUpdateKindModify || !initial)
		}
	}
	w.broadcast(read)
	b.net.kick() // containers that started or stopped: their names and ports
}

// nudge takes a guest's word that it has just written its status to guestinfo (wire.RequestStatus on its
// serial line) as an update of the watch for its VM: the VM is re-read, an exit noted and the waiters woken
// now, rather than when the watch reports the change (which it still does, a little later: vSphere stays the
// only record, and a notice only saves that lag). A container whose VM this process does not know (of
// another VCH, or not yet listed since a restart) is left to the watch.
func (b *Backend) nudge(ctx context.Context, id string) {
	ref, ok := b.ctr.refs.Load(id)
	if !ok {
		return
	}
	b.onVMUpdates(ctx, []types.ObjectUpdate{{Obj: ref.(types.ManagedObjectReference), Kind: types.ObjectUpdateKindModify}}, false)
}

// noteExit publishes "die" once per boot of a container seen exited, when publish is set. The watch calls it,
// and so does the endpoint when it powers a VM off itself, so that "die" comes before "stop" or "destroy".
func (b *Backend) noteExit(c *containerVM, publish bool) {
	st := c.state()
	// Without the guest's word for this boot an exit is not known yet: an "off" VM whose boot count just
	// went up is being started. Where the endpoint powers a VM off itself it writes that status.
	if *st.Status != statusExited || c.guestStatus() == nil {
		return
	}
	w := &b.ctr.watch
	w.mu.Lock()
	seen, known := w.exited[c.ref]
	if known && seen >= c.boot() {
		w.mu.Unlock()
		return
	}
	w.exited[c.ref] = c.boot()
	w.mu.Unlock()
	if publish {
		b.publishContainer(c, "die", map[string]string{"exitCode": itoa(int(st.ExitCode))})
	}
}

// broadcast ends the current batch: vms are the VMs it named, with what was read of each after the change;
// nil stands for every VM.
func (w *vmWatch) broadcast(vms map[types.ManagedObjectReference]*containerVM) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.changed
	c.all, c.vms, c.next = vms == nil, vms, newVMChange()
	close(c.done)
	w.changed = c.next
}

// next is the batch after the ones seen so far; take it before reading, so no change is missed.
func (w *vmWatch) next() *vmChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// awaitRecheck is how long await trusts the watch to name its VM's changes: after that long without a word
// it reads the VM again, so a change the collector did not report (or a watch gone quiet) delays a waiter by
// this much, never for ever.
const awaitRecheck = time.Second

// await re-reads the containerVM after every change the watch reports for it, and at least every
// awaitRecheck, until done says so, the VM is gone (ErrNotFound) or ctx ends. A change whose VM the watch
// read after it is taken from the watch, without a read of its own. It returns the last VM read.
func (b *Backend) await(ctx context.Context, ref types.ManagedObjectReference, done func(*containerVM) bool) (*containerVM, error) {
	change := b.ctr.watch.next()
	// A VM just created is what its create said until a batch names it, which change then sees.
	c, err := b.readVMOrNewborn(ctx, ref)
	if err != nil {
		return nil, err
	}
	recheck := time.NewTimer(awaitRecheck)
	defer recheck.Stop()
	for !done(c) {
		seen, err := b.nextChange(ctx, ref, &change, recheck)
		if err != nil {
			return c, classify(err, "wait for container "+c.id())
		}
		switch {
		case seen == nil:
			next, err := b.readVM(ctx, ref)
			if err != nil {
				return c, err
			}
			c = next
		case seen.seq > c.seq:
			c = seen
			// else c was read after the watch's read began, which was after the change: c has seen it too
		}
		recheck.Reset(awaitRecheck)
	}
	return c, nil
}

// nextChange waits for a batch of the watch that names ref, or for the recheck: it returns the watch's read
// of ref after the change, or nil when ref must be read again.
func (b *Backend) nextChange(ctx context.Context, ref types.ManagedObjectReference, change **vmChange, recheck *time.Timer) (*containerVM, error) {
	for {
		select {
		case <-(*change).done:
			named, seen, next := batchesOf(ref, *change)
			if *change = next; named {
				return seen, nil
			}
		case <-recheck.C:
			*change = b.ctr.watch.next()
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// batchesOf looks at every batch that has happened from change on, in order, and returns the first one still
// to come. named says whether any of them named ref; seen is the watch's read of ref after the last of those,
// or nil when the VM must be read again (the last batch naming it came without the watch's read of it).
func batchesOf(ref types.ManagedObjectReference, change *vmChange) (named bool, seen *containerVM, next *vmChange) {
	for closed(change.done) {
		if n, vm := change.names(ref); n {
			named, seen = true, vm
		}
		change = change.next
	}
	return named, seen, change
}

// closed tells whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// isGone reports whether err says the VM no longer exists.
func isGone(err error) bool { return errdefs.Is(err, errdefs.ErrNotFound) }
