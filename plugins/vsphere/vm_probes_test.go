package vsphere

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// While the pool is quiet, listings and descriptions answer from the pool's last probe without a round
// trip; the endpoint's own changes are in the next answer at once, so is a guest's status when its notice
// came, and another client's changes once the watch reports them. Without the watch every answer reads.
func TestQuietPoolAnsweredFromItsProbe(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	e := &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
	alpha := e.create(t, spec("alpha", "", models.Process{Path: "/a"}, nil))
	beta := e.create(t, spec("beta", "", models.Process{Path: "/b"}, nil))
	var retrievals, poolProbes atomic.Int32
	s.model.Map().Handler = func(_ *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if r, ok := m.Body.(*types.RetrievePropertiesEx); ok {
			retrievals.Add(1)
			for _, fs := range r.SpecSet {
				for _, o := range fs.ObjectSet {
					if len(o.SelectSet) > 0 {
						poolProbes.Add(1) // the pool traversed
					}
				}
			}
		}
		return nil, nil
	}
	list := func() map[string]*models.ContainerInfo { t.Helper(); return listedByName(t, b) }
	get := func(id string) *models.ContainerInfo { t.Helper(); return described(t, b, id) }
	// eventually lists until ok holds, for at most within.
	eventually := func(within time.Duration, what string, ok func(map[string]*models.ContainerInfo) bool) {
		t.Helper()
		for deadline := time.Now().Add(within); !ok(list()); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not listed within %v", what, within)
			}
		}
	}
	// The watch reports the creates a batch later; after that, the pool is quiet.
	eventually(5*time.Second, "a listing and a description without a round trip", func(map[string]*models.ContainerInfo) bool {
		n := retrievals.Load()
		list()
		get(*alpha.ID)
		return retrievals.Load() == n
	})
	// What it answers is what it answered before, and a description says what the listing says.
	quiet := list()
	for range 3 {
		again := list()
		one := get(*beta.ID)
		a, _ := json.Marshal(again)
		q, _ := json.Marshal(quiet)
		if string(a) != string(q) {
			t.Errorf("listed as\n%s\nthen as\n%s", q, a)
		}
		l, _ := json.Marshal(again["beta"])
		o, _ := json.Marshal(one)
		if string(l) != string(o) {
			t.Errorf("beta listed as\n%s\ndescribed as\n%s", l, o)
		}
	}

	// A guest's status write that leaves the changeVersion as it was (VMware Tools' info-set on ESXi) is in
	// the next answer once its notice came (nudge)...
	var betaRef types.ManagedObjectReference
	betaRef.FromString(beta.VM)
	writeStatus := func(pid int) {
		status, _ := json.Marshal(wire.GuestStatus{State: wire.StateRunning, Pid: pid})
		sctx := simulator.NewContext()
		sctx.Map = s.model.Map()
		simVM := s.model.Map().Get(betaRef).(*simulator.VirtualMachine)
		sctx.WithLock(simVM, func() {
			var kept []types.BaseOptionValue
			for _, o := range simVM.Config.ExtraConfig {
				if o.GetOptionValue().Key != wire.KeyStatus {
					kept = append(kept, o)
				}
			}
			simVM.Config.ExtraConfig = append(kept, &types.OptionValue{Key: wire.KeyStatus, Value: string(status)})
		})
	}
	vm := object.NewVirtualMachine(e.c, betaRef)
	task, err := vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	// ...another client's power-on once the watch reports it...
	eventually(2*time.Second, "another client's power-on", func(got map[string]*models.ContainerInfo) bool {
		return got["beta"] != nil && got["beta"].State.Running
	})
	writeStatus(42)
	b.nudge(ctx, *beta.ID)
	if got := list(); got["beta"].State.Pid != 42 {
		t.Fatalf("beta's pid is %d right after its guest's notice, want 42", got["beta"].State.Pid)
	}
	// ...and, without a notice, within probesKeptFor.
	writeStatus(43)
	eventually(probesKeptFor+time.Second, "a status write without its notice", func(got map[string]*models.ContainerInfo) bool {
		return got["beta"].State.Pid == 43
	})

	// The endpoint's own change is in the very next answer, with no word from the watch: a watch that is
	// following but has not reported yet is one stopped and said to be live.
	b.stopWatch()
	b.ctr.probes.setLive(true)
	list()
	n := retrievals.Load()
	list()
	if got := retrievals.Load() - n; got != 0 {
		t.Fatalf("a listing of a quiet pool made %d retrievals, want 0", got)
	}
	// A VM the watch (here a notice) names is read, and the read takes its place in the kept probe of the
	// pool, which is not probed again.
	writeStatus(44)
	n = retrievals.Load()
	pooled := poolProbes.Load()
	b.nudge(ctx, *beta.ID)
	if got := list(); got["beta"].State.Pid != 44 {
		t.Fatalf("beta's pid is %d after its notice, want 44", got["beta"].State.Pid)
	}
	if got, pool := retrievals.Load()-n, poolProbes.Load()-pooled; got != 1 || pool != 0 {
		t.Fatalf("a notice and a listing made %d retrievals, %d of the pool; want the VM's read alone", got, pool)
	}

	// A description without a listing keeps its probe of the one VM, for the next description.
	b.ctr.probes.stale()
	n = retrievals.Load()
	get(*beta.ID)
	get(*beta.ID)
	if got := retrievals.Load() - n; got != 1 {
		t.Fatalf("two descriptions of a quiet VM made %d retrievals, want 1", got)
	}
	if _, err := b.RenameContainer(ctx, *alpha.ID, "alpha2"); err != nil {
		t.Fatal(err)
	}
	if got := list(); got["alpha2"] == nil || got["alpha"] != nil {
		t.Fatalf("listed %v right after the rename, want alpha2", got)
	}
	if got := get(*alpha.ID); *got.Name != "alpha2" {
		t.Fatalf("described as %s right after the rename, want alpha2", *got.Name)
	}

	// So is any change made through the endpoint's session, with no read after it: a rename of the VM leaves
	// its changeVersion as it was.
	task, err = object.NewVirtualMachine(b.sess.client, betaRef).Rename(ctx, "beta-vm")
	if err == nil {
		_, err = task.WaitForResult(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := list(); got["beta"].VMName != "beta-vm" {
		t.Fatalf("beta's VM is listed as %s right after its rename, want beta-vm", got["beta"].VMName)
	}

	// Without the watch, every listing reads.
	b.ctr.probes.setLive(false)
	for range 2 {
		n := retrievals.Load()
		list()
		if retrievals.Load() == n {
			t.Fatal("a listing without the watch made no retrieval")
		}
	}
}

// The endpoint's own changes of one VM (a create, a rename, a removal) mark that VM rather than every kept
// probe: each is in the very next answer, a removal without a round trip, and once the watch has read the
// changed VM the pool is answered from its probe again, where any change made anywhere used to cost the
// next listing a probe of the whole pool. A probe of an empty pool is kept too: it was taken for none.
func TestOwnChangesMarkTheirVM(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	e := &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
	var retrievals atomic.Int32
	s.model.Map().Handler = func(_ *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if _, ok := m.Body.(*types.RetrievePropertiesEx); ok {
			retrievals.Add(1)
		}
		return nil, nil
	}
	list := func() map[string]*models.ContainerInfo { t.Helper(); return listedByName(t, b) }
	quiet := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			n := retrievals.Load()
			list()
			if retrievals.Load() == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the pool is still probed after 5s", what)
			}
		}
	}
	// An empty pool's probe is kept as any other.
	quiet("an empty pool")
	alpha := e.create(t, spec("alpha", "", models.Process{Path: "/a"}, nil))
	beta := e.create(t, spec("beta", "", models.Process{Path: "/b"}, nil))
	quiet("after the creates")
	// From here on the watch follows the pool but reports nothing (it is stopped and said to be live): what
	// is answered without a round trip is so because of the endpoint's own marks, not because a batch of
	// the watch happened to land, or not, between a change and the next answer.
	b.stopWatch()
	b.ctr.probes.setLive(true)

	// A removal: not listed in the very next answer, which needs no round trip. (A probe taken now is kept,
	// so its 2 s are not what ends it.)
	b.ctr.probes.stale()
	list()
	var betaRef types.ManagedObjectReference
	betaRef.FromString(beta.VM)
	before, err := b.readVM(ctx, betaRef) // a read that answers after the removal, as a waiter's may
	if err != nil {
		t.Fatal(err)
	}
	probeBefore := b.beginProbe()
	if err := b.RemoveContainer(ctx, *beta.ID, true); err != nil {
		t.Fatal(err)
	}
	// A read or a probe of the VM that began before its removal and answers after it does not put it back.
	b.ctr.probes.observe(probeOf(before, before.version), before.seq)
	b.ctr.probes.keepOne(probeBefore, probeOf(before, before.version))
	if _, err := b.GetContainer(ctx, *beta.ID); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("described after its removal: %v, want not found", err)
	}
	n := retrievals.Load()
	if got := list(); got["beta"] != nil || got["alpha"] == nil {
		t.Fatalf("listed %v right after beta's removal", got)
	}
	if got := retrievals.Load() - n; got != 0 {
		t.Fatalf("the listing after a removal made %d retrievals, want 0", got)
	}

	// A create: listed in the very next answer; the pool is quiet again once a read of the new VM (here the
	// listing's probe, kept) has come. Until then, a description of the new container answers from what its
	// create made, without a round trip, and says what a read says.
	gamma := e.create(t, spec("gamma", "", models.Process{Path: "/g"}, nil))
	n = retrievals.Load()
	born, err := b.GetContainer(ctx, *gamma.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := retrievals.Load() - n; got != 0 {
		t.Fatalf("describing a container just created made %d retrievals, want 0", got)
	}
	if got := list(); got["gamma"] == nil || *got["gamma"].ID != *gamma.ID {
		t.Fatalf("listed %v right after gamma's create", got)
	}
	quiet("after gamma's create")
	read, err := b.GetContainer(ctx, *gamma.ID)
	if err != nil {
		t.Fatal(err)
	}
	bj, _ := json.Marshal(born)
	rj, _ := json.Marshal(read)
	if string(bj) != string(rj) {
		t.Errorf("gamma described from its create as\n%s\nfrom a read as\n%s", bj, rj)
	}

	// A rename: in the very next answer.
	if _, err := b.RenameContainer(ctx, *alpha.ID, "alpha2"); err != nil {
		t.Fatal(err)
	}
	if got := list(); got["alpha2"] == nil || got["alpha"] != nil {
		t.Fatalf("listed %v right after the rename, want alpha2", got)
	}
	quiet("after the rename")

	// A container renamed right after its create is described with its new name: the rename marked it.
	delta := e.create(t, spec("delta", "", models.Process{Path: "/d"}, nil))
	if _, err := b.RenameContainer(ctx, *delta.ID, "delta2"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.GetContainer(ctx, *delta.ID); err != nil || *got.Name != "delta2" {
		t.Fatalf("described right after its rename as %v (%v), want delta2", got, err)
	}
	quiet("after delta's rename")

	// A create refused (before any VM call) marks nothing.
	bad := spec("gamma", "", models.Process{Path: "/g"}, nil) // gamma's name
	if _, err := b.CreateContainer(ctx, bad); err == nil {
		t.Fatal("a second container named gamma was created")
	}
	quiet("after a refused create")
	b.ctr.probes.mu.Lock()
	dirty := len(b.ctr.probes.dirty)
	b.ctr.probes.mu.Unlock()
	if dirty != 0 {
		t.Fatalf("%d VMs marked after the pool was quiet again", dirty)
	}
}
