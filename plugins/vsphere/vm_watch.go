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
// which is when it publishes "die". It caches nothing that answers a query: waiters re-read the inventory
// when it tells them something changed.
type vmWatch struct {
	mu      sync.Mutex
	changed chan struct{}                        // closed, and replaced, after every batch of updates
	exited  map[types.ManagedObjectReference]int // the boot whose exit was seen, for "die" once per boot

	cancel context.CancelFunc
	done   chan struct{}
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
	w.changed = make(chan struct{})
	w.exited = map[types.ManagedObjectReference]int{}
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		backoff := time.Second
		for {
			err := b.watchOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("the containerVM watch stopped; restarting it", "err", err, "in", backoff)
			w.broadcast() // waiters re-read rather than trust a watch that may have missed changes
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}()
	if a := b.ctr.attach; a != nil {
		a.setOnStatus(b.nudge) // the watch's state is ready: a guest's status notice may wake waiters now
	}
}

func (b *Backend) stopWatch() {
	if w := &b.ctr.watch; w.cancel != nil {
		w.cancel()
		<-w.done
	}
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
	if _, err := pc.CreateFilter(ctx, filter); err != nil {
		return classify(err, "watch pool "+b.where.pool.InventoryPath)
	}
	req := types.WaitForUpdatesEx{This: pc.Reference(), Options: &types.WaitOptions{MaxWaitSeconds: types.NewInt32(watchMaxWait)}}
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
			b.onVMUpdates(ctx, fs.ObjectSet)
		}
	}
}

// onVMUpdates publishes "die" for containers seen exiting, then wakes the waiters.
func (b *Backend) onVMUpdates(ctx context.Context, updates []types.ObjectUpdate) {
	w := &b.ctr.watch
	for _, u := range updates {
		if u.Kind == types.ObjectUpdateKindLeave {
			w.mu.Lock()
			delete(w.exited, u.Obj)
			w.mu.Unlock()
			continue
		}
		if c, err := b.readVM(ctx, u.Obj); err == nil && c.id() != "" {
			// A VM entering the filter (at start, or after a restart of the watch) is only recorded: its exit,
			// if any, happened before we looked.
			b.noteExit(c, u.Kind == types.ObjectUpdateKindModify)
		}
	}
	w.broadcast()
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
	b.onVMUpdates(ctx, []types.ObjectUpdate{{Obj: ref.(types.ManagedObjectReference), Kind: types.ObjectUpdateKindModify}})
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

func (w *vmWatch) broadcast() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.changed)
	w.changed = make(chan struct{})
}

// next is closed after the next change the watch sees; take it before reading, so no change is missed.
func (w *vmWatch) next() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// await re-reads the containerVM after every change until done says so, the VM is gone (ErrNotFound) or ctx
// ends. It returns the last VM read.
func (b *Backend) await(ctx context.Context, ref types.ManagedObjectReference, done func(*containerVM) bool) (*containerVM, error) {
	var last *containerVM
	for {
		next := b.ctr.watch.next()
		c, err := b.readVM(ctx, ref)
		if err != nil {
			return last, err
		}
		if last = c; done(c) {
			return c, nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return last, classify(ctx.Err(), "wait for container "+c.id())
		}
	}
}

// isGone reports whether err says the VM no longer exists.
func isGone(err error) bool { return errdefs.Is(err, errdefs.ErrNotFound) }
