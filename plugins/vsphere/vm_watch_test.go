package vsphere

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// TestAwaitTakesTheWatchsRead checks what await does with the watch's batches: a batch that names other VMs
// costs nothing, one that stands for every VM (a restarted watch) makes await read its VM, one that names it
// with a read older than await's own is passed over, and one with a newer read is taken as it is.
func TestAwaitTakesTheWatchsRead(t *testing.T) {
	e := newContainerEnv(t)
	a := e.create(t, spec("awaited", "", models.Process{}, nil))
	b := e.create(t, spec("other", "", models.Process{}, nil))
	var refA, refB types.ManagedObjectReference
	refA.FromString(a.VM)
	refB.FromString(b.VM)
	// The batches below are the only ones: a batch of the real watch (the creates', say, whose reads began
	// before await's own) would wake await once more, in between.
	e.b.stopWatch()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var mu sync.Mutex
	var looked []*containerVM
	stale := &containerVM{ref: refA, vmName: "read before await's own read", seq: 0}
	newer := &containerVM{ref: refA, vmName: "read after await's own reads", seq: math.MaxUint64}
	woken := make(chan struct{}, 16)
	got := make(chan *containerVM, 1)
	go func() {
		c, err := e.b.await(ctx, refA, func(c *containerVM) bool {
			mu.Lock()
			looked = append(looked, c)
			mu.Unlock()
			woken <- struct{}{}
			return c == newer
		})
		if err != nil {
			t.Errorf("await: %v", err)
		}
		got <- c
	}()
	step := func(what string) {
		t.Helper()
		select {
		case <-woken:
		case <-ctx.Done():
			t.Fatalf("await did not look at its VM after %s", what)
		}
	}
	step("its first read")
	w := &e.b.ctr.watch
	for range 5 {
		w.broadcast(map[types.ManagedObjectReference]*containerVM{refB: nil})
	}
	w.broadcast(nil) // every VM: read again
	step("a batch for every VM")
	w.broadcast(map[types.ManagedObjectReference]*containerVM{refA: stale})
	step("a batch with an old read")
	w.broadcast(map[types.ManagedObjectReference]*containerVM{refA: newer})
	select {
	case c := <-got:
		if c != newer {
			t.Fatalf("await returned %q, not the watch's newer read", c.vmName)
		}
	case <-ctx.Done():
		t.Fatal("await did not take the watch's newer read of its VM")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(looked) != 4 {
		t.Fatalf("await looked at its VM %d times, want 4 (its read, its read after the batch for every VM, that read again, the watch's newer read)", len(looked))
	}
	first, second := looked[0], looked[1]
	if first == second || first.seq == 0 || second.seq <= first.seq || first.vmName != second.vmName {
		t.Fatalf("await's own reads: %+v then %+v", first, second)
	}
	if looked[2] != second {
		t.Fatalf("after a batch with an older read await looked at %q, want its own read kept", looked[2].vmName)
	}
}

// TestEnteringExitedVMDies: a VM the watch first sees with its container already ended (made, started and
// ended between two of its batches) gets its "die"; one the watch listed when it began does not, its exit
// having come before the watch looked.
func TestEnteringExitedVMDies(t *testing.T) {
	e := newContainerEnv(t)
	evs, _ := e.b.Events(ctxFor(t), []string{EventTypeContainer})
	e.b.stopWatch() // nothing else notes the exits: only the updates below
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	run := func(name string) (string, types.ManagedObjectReference) {
		info := e.create(t, spec(name, "", models.Process{Path: "/bin/true"}, nil))
		g := newFakeGuest(t, e.c, info.VM, *info.ID)
		booted := g.bootWhenOn(ctx, e.b.ctr.attach.advertise)
		if _, err := e.b.StartContainer(ctx, *info.ID); err != nil {
			t.Fatalf("StartContainer %s: %v", name, err)
		}
		if err := <-booted; err != nil {
			t.Fatalf("fake guest %s: %v", name, err)
		}
		if err := g.exit(ctx, 3); err != nil {
			t.Fatal(err)
		}
		return *info.ID, g.ref
	}
	listed, listedRef := run("listed-when-the-watch-began")
	entered, enteredRef := run("entered-between-batches")
	e.b.onVMUpdates(ctx, []types.ObjectUpdate{{Obj: listedRef, Kind: types.ObjectUpdateKindEnter}}, true)
	e.b.onVMUpdates(ctx, []types.ObjectUpdate{{Obj: enteredRef, Kind: types.ObjectUpdateKindEnter}}, false)
	for {
		ev := nextEvent(t, evs)
		if *ev.Action != "die" {
			continue // the creates and starts
		}
		if ev.ID != entered || ev.Attributes["exitCode"] != "3" {
			t.Fatalf("die of %s (exit code %s), want only %s's (listed: %s)", ev.ID, ev.Attributes["exitCode"], entered, listed)
		}
		return
	}
}
