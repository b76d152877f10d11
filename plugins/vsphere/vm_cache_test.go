package vsphere

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

func TestVMCacheKeepsTheNewestRead(t *testing.T) {
	var vc vmCache
	vc.setReady(true)
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-1"}
	vm := func(name string) *containerVM {
		return &containerVM{ref: ref, extra: map[string]string{keyName: name}}
	}
	early, late := vc.begin(), vc.begin()
	vc.put(late, vm("late"), true)
	vc.put(early, vm("early"), true) // answered after the later read: older news
	if all, _, _ := vc.all(); len(all) != 1 || all[0].name() != "late" {
		t.Fatalf("after an overtaken read: %v", all)
	}

	before := vc.begin()
	vc.invalidate(ref)
	if all, stale, _ := vc.all(); len(all) != 0 || len(stale) != 1 || stale[0] != ref {
		t.Fatalf("invalidated: cached %v, stale %v", all, stale)
	}
	vc.put(before, vm("before the write"), true) // started before the write ended: may not show it
	if _, stale, _ := vc.all(); len(stale) != 1 {
		t.Fatalf("a read from before the invalidation made the entry fresh")
	}
	vc.put(vc.begin(), vm("after"), true)
	if all, stale, _ := vc.all(); len(all) != 1 || len(stale) != 0 || all[0].name() != "after" {
		t.Fatalf("read again: cached %v, stale %v", all, stale)
	}

	slow := vc.begin()
	vc.drop(vc.begin(), ref)
	vc.put(slow, vm("ghost"), true) // a read that overlapped the removal
	if all, stale, _ := vc.all(); len(all) != 0 || len(stale) != 0 {
		t.Fatalf("a removed VM came back: cached %v, stale %v", all, stale)
	}

	other := types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-2"}
	vc.put(vc.begin(), &containerVM{ref: other, extra: map[string]string{keyName: "new"}}, false)
	if _, stale, _ := vc.all(); len(stale) != 1 || stale[0] != other {
		t.Fatalf("a VM the watch has not reported is trusted: stale %v", stale)
	}

	vc.setReady(false)
	if _, _, ok := vc.all(); ok {
		t.Fatal("a cache that is not ready answered a listing")
	}
}

// waitCacheReady waits until the backend's watch has read the pool into the inventory cache.
func waitCacheReady(t *testing.T, b *Backend) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !b.ctr.cache.isReady() {
		if time.Now().After(deadline) {
			t.Fatal("the inventory cache is not ready after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// callsDuring counts the vSphere calls the backend made while f ran.
func callsDuring(b *Backend, f func()) uint64 {
	before := b.ctr.calls.calls.Load()
	f()
	return b.ctr.calls.calls.Load() - before
}

// names lists the names ListContainers returns for filter.
func names(t *testing.T, b *Backend, filter sdk.ListFilter) []string {
	t.Helper()
	list, err := b.ListContainers(context.Background(), filter)
	if err != nil {
		t.Fatalf("ListContainers: %v", err)
	}
	var out []string
	for _, c := range list {
		out = append(out, *c.Name)
	}
	return out
}

func TestInventoryCacheShowsOwnWritesAtOnce(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	waitCacheReady(t, e.b)

	a := e.create(t, spec("alpha", "", models.Process{}, nil))
	if got := names(t, e.b, sdk.ListFilter{}); len(got) != 1 || got[0] != "alpha" {
		t.Fatalf("listed right after the create: %v", got)
	}
	if got, err := e.b.GetContainer(ctx, *a.ID); err != nil || *got.Name != "alpha" {
		t.Fatalf("described right after the create: %v %v", got, err)
	}
	if _, err := e.b.RenameContainer(ctx, *a.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, e.b, sdk.ListFilter{Names: []string{"renamed"}}); len(got) != 1 {
		t.Errorf("the new name right after the rename: %v", got)
	}
	if got := names(t, e.b, sdk.ListFilter{Names: []string{"alpha"}}); len(got) != 0 {
		t.Errorf("the old name right after the rename: %v", got)
	}
	if got, err := e.b.GetContainer(ctx, *a.ID); err != nil || *got.Name != "renamed" {
		t.Errorf("described right after the rename: %v %v", got, err)
	}
	if _, err := e.b.SetAnnotations(ctx, *a.ID, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.b.GetContainer(ctx, *a.ID); err != nil || got.Spec.Annotations["k"] != "v" {
		t.Errorf("annotations right after they were set: %v %v", got, err)
	}

	// Once the watch has caught up, describing and listing read memory only.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := callsDuring(e.b, func() {
			names(t, e.b, sdk.ListFilter{})
			names(t, e.b, sdk.ListFilter{IDs: []string{(*a.ID)[:5]}})
			if _, err := e.b.GetContainer(ctx, *a.ID); err != nil {
				t.Fatal(err)
			}
		})
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listing and describing still make %d vSphere calls 10s after the last change", n)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := e.b.RemoveContainer(ctx, *a.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := names(t, e.b, sdk.ListFilter{}); len(got) != 0 {
		t.Errorf("listed right after the removal: %v", got)
	}
	if _, err := e.b.GetContainer(ctx, *a.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("described right after the removal: %v, want not found", err)
	}
}

func TestInventoryCacheFollowsChangesMadeElsewhere(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	waitCacheReady(t, e.b)
	a := e.create(t, spec("alpha", "", models.Process{}, nil))
	b := e.create(t, spec("beta", "", models.Process{}, nil))

	// Another client renames alpha's record and destroys beta's VM.
	var ref types.ManagedObjectReference
	ref.FromString(a.VM)
	task, err := object.NewVirtualMachine(e.c, ref).Reconfigure(ctx, extraConfigChange(map[string]string{keyName: "elsewhere"}))
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	ref.FromString(b.VM)
	if task, err = object.NewVirtualMachine(e.c, ref).Destroy(ctx); err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		got := names(t, e.b, sdk.ListFilter{})
		if len(got) == 1 && got[0] == "elsewhere" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10s after the changes, the list is %v, want [elsewhere]", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := e.b.GetContainer(ctx, *b.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a container whose VM went: %v, want not found", err)
	}
}

func TestInventoryCacheRefillsAfterARestart(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	a := e.create(t, spec("alpha", "", models.Process{}, nil))
	e.create(t, spec("beta", "", models.Process{}, nil))
	if err := e.b.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A new endpoint on the same vSphere: its cache starts empty and fills from the inventory.
	cfg := e.b.cfg
	b := newBackend(t, cfg)
	if got := names(t, b, sdk.ListFilter{}); len(got) != 2 || got[0] != "alpha" || got[1] != "beta" {
		t.Errorf("listed at once by the new endpoint: %v", got)
	}
	waitCacheReady(t, b)
	if got := names(t, b, sdk.ListFilter{}); len(got) != 2 || got[0] != "alpha" || got[1] != "beta" {
		t.Errorf("listed from the new endpoint's cache: %v", got)
	}
	if got, err := b.GetContainer(ctx, *a.ID); err != nil || *got.Name != "alpha" {
		t.Errorf("described by the new endpoint: %v %v", got, err)
	}
	if n := callsDuring(b, func() { names(t, b, sdk.ListFilter{Names: []string{"beta"}}) }); n != 0 {
		t.Errorf("a listing by name made %d vSphere calls, want 0", n)
	}
}

// taskAnswer answers every call with a WaitForUpdatesEx answer holding info.
type taskAnswer struct{ info any }

func (a taskAnswer) RoundTrip(_ context.Context, _, res soap.HasFault) error {
	body, ok := res.(*methods.WaitForUpdatesExBody)
	if !ok {
		return nil
	}
	body.Res = &types.WaitForUpdatesExResponse{Returnval: &types.UpdateSet{FilterSet: []types.PropertyFilterUpdate{{
		ObjectSet: []types.ObjectUpdate{{
			Obj:       types.ManagedObjectReference{Type: "Task", Value: "task-1"},
			ChangeSet: []types.PropertyChange{{Name: "info", Val: a.info}},
		}},
	}}}}
	return nil
}

func TestTaskEndsSeesTheEndOfATaskOnAVM(t *testing.T) {
	vm := types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-7"}
	folder := types.ManagedObjectReference{Type: "Folder", Value: "group-1"}
	for _, tc := range []struct {
		info any
		want bool
	}{
		{types.TaskInfo{Entity: &vm, State: types.TaskInfoStateSuccess}, true},
		{&types.TaskInfo{Entity: &vm, State: types.TaskInfoStateError}, true},
		{types.TaskInfo{Entity: &vm, State: types.TaskInfoStateRunning}, false},
		{types.TaskInfo{Entity: &folder, State: types.TaskInfoStateSuccess}, false},
		{types.TaskInfo{State: types.TaskInfoStateSuccess}, false},
	} {
		var ended []types.ManagedObjectReference
		te := &taskEnds{next: taskAnswer{tc.info}, done: func(r types.ManagedObjectReference) { ended = append(ended, r) }}
		if err := te.RoundTrip(context.Background(), &methods.WaitForUpdatesExBody{}, &methods.WaitForUpdatesExBody{}); err != nil {
			t.Fatal(err)
		}
		if got := len(ended) == 1 && ended[0] == vm; got != tc.want || len(ended) > 1 {
			t.Errorf("%+v: ended %v, want the VM's end %v", tc.info, ended, tc.want)
		}
		if te.calls.Load() != 1 {
			t.Errorf("counted %d calls, want 1", te.calls.Load())
		}
	}
}
