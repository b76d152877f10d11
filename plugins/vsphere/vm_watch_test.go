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
