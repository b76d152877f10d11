package vsphere

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// A removal takes the VM out of the inventory (the pool's list with it) and deletes its folder, and leaves
// the image's layer disk, which the container's disk was a child of.
func TestRemoveUnregistersAndDeletesTheFolder(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	layer := e.emptyLayer(t)
	info := e.create(t, spec("gone", layer, models.Process{}, nil))
	var ref types.ManagedObjectReference
	ref.FromString(info.VM)

	if err := e.b.RemoveContainer(ctx, *info.ID, false); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	var m mo.VirtualMachine
	err := object.NewVirtualMachine(e.c, ref).Properties(ctx, ref, []string{"name"}, &m)
	if !errors.Is(classify(err, ""), errdefs.ErrNotFound) {
		t.Errorf("the removed container's VM %s: %v, want not found", ref, err)
	}
	var pool mo.ResourcePool
	if err := object.NewResourcePool(e.c, e.b.where.pool.Reference()).Properties(ctx, e.b.where.pool.Reference(), []string{"vm"}, &pool); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(pool.Vm, ref) {
		t.Errorf("the pool still lists the removed VM %s", ref)
	}
	if _, err := os.Stat(e.local(info.VMName)); !os.IsNotExist(err) {
		t.Errorf("the removed VM's folder: %v, want it gone", err)
	}
	if _, err := os.Stat(e.local(LayerDescriptor(DefaultVCHName, layer))); err != nil {
		t.Errorf("the image's layer disk after a removal: %v", err)
	}
	// The layer still makes containers.
	e.create(t, spec("after", layer, models.Process{}, nil))
}

// A container whose VM was destroyed behind the backend's back is not found, and so is not removed twice.
func TestRemoveOfAVanishedVM(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	info := e.create(t, spec("vanished", "", models.Process{}, nil))
	var ref types.ManagedObjectReference
	ref.FromString(info.VM)
	task, err := object.NewVirtualMachine(e.c, ref).Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("destroy the VM behind the backend's back: %v", err)
	}
	if err := e.b.RemoveContainer(ctx, *info.ID, true); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("removing a container whose VM vanished: %v, want not found", err)
	}
}

// A removal whose folder is already gone (a removal interrupted after its unregister, retried by hand; files
// deleted from the datastore) still removes the VM.
func TestRemoveWithoutItsFolder(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	info := e.create(t, spec("folderless", "", models.Process{}, nil))
	if err := os.RemoveAll(e.local(info.VMName)); err != nil {
		t.Fatal(err)
	}
	if err := e.b.RemoveContainer(ctx, *info.ID, false); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if _, err := e.b.GetContainer(ctx, *info.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("after the removal: %v, want not found", err)
	}
}

func TestVMFolderDeletable(t *testing.T) {
	for _, c := range []struct {
		folder string
		want   bool
	}{
		{"web-0123456789ab", true},
		{"2f1c5e6a-0000-1111-2222-333344445555", true}, // a vSAN namespace folder
		{"", false},
		{".", false},
		{"..", false},
		{"/", false},
		{DefaultVCHName, false},
		{"VIC/" + DefaultVCHName, false},
		{"a/b", false},
	} {
		if got := vmFolderDeletable(c.folder, DefaultVCHName); got != c.want {
			t.Errorf("vmFolderDeletable(%q) = %v, want %v", c.folder, got, c.want)
		}
	}
}

// The events of a removal: "die" once, with the exit code the container ended with, then "destroy" once, for a
// guest that reported its exit and has not halted yet (removed without force, powered off without another
// read) and for a running one (forced: killed, 137).
func TestRemoveEventsAndLastState(t *testing.T) {
	for _, c := range []struct {
		name  string
		exit  int // the code the guest reports before the removal; -1: it is still running
		force bool
		want  int64
	}{
		{"exited", 5, false, 5},
		{"running", -1, true, exitKilled},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			e := newContainerEnv(t)
			evs, err := e.b.Events(ctxFor(t), []string{EventTypeContainer})
			if err != nil {
				t.Fatal(err)
			}
			info := e.create(t, spec("ev-"+c.name, "", models.Process{Path: "/bin/sleep"}, nil))
			g, _ := e.startWithFakeGuest(t, info)
			if c.exit >= 0 {
				if err := g.exit(ctx, c.exit); err != nil {
					t.Fatal(err)
				}
				if st, err := e.b.WaitContainer(ctx, *info.ID, "not-running"); err != nil || st.ExitCode != int64(c.exit) {
					t.Fatalf("wait for the exit: %+v %v", st, err)
				}
				if vm := e.vm(t, info); vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
					t.Fatalf("the fake guest's VM is %s before the removal, want it on", vm.Runtime.PowerState)
				}
			}
			if err := e.b.RemoveContainer(ctx, *info.ID, c.force); err != nil {
				t.Fatalf("RemoveContainer: %v", err)
			}
			if st, err := e.b.WaitContainer(ctx, *info.ID, "removed"); err != nil || st.Running || st.ExitCode != c.want {
				t.Errorf("wait after the removal: %+v %v, want exit code %d", st, err, c.want)
			}
			var got []string
			for ev := nextEvent(t, evs); ; ev = nextEvent(t, evs) {
				got = append(got, *ev.Action+" "+ev.Attributes["exitCode"])
				if *ev.Action == "destroy" {
					break
				}
			}
			// Anything late (a second "die" from the watch, say) would come within its next batches.
			time.Sleep(200 * time.Millisecond)
			for drained := false; !drained; {
				select {
				case ev := <-evs:
					got = append(got, *ev.Action+" "+ev.Attributes["exitCode"])
				default:
					drained = true
				}
			}
			want := []string{"create ", "start ", fmt.Sprintf("die %d", c.want), "destroy "}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}

// A stop whose container is removed as its process ends (the die event's auto-removal of a `docker run -d
// --rm`, here the removal is made on the die event) succeeds with the state the container ended with: the
// stop's wait for the guest to halt finds the VM gone.
func TestStopOfAContainerRemovedMeanwhile(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	evs, err := e.b.Events(ctxFor(t), []string{EventTypeContainer})
	if err != nil {
		t.Fatal(err)
	}
	info := e.create(t, spec("stopped-gone", "", models.Process{Path: "/bin/sleep"}, nil))
	g, _ := e.startWithFakeGuest(t, info)
	g.mu.Lock()
	g.onSignal = func(string) { _ = g.exit(ctx, 0) } // the process ends; the fake guest never halts its VM
	g.mu.Unlock()
	removed := make(chan error, 1)
	go func() {
		for ev := range evs {
			if *ev.Action == "die" {
				removed <- e.b.RemoveContainer(ctx, *info.ID, false)
				return
			}
		}
	}()
	stopped, err := e.b.StopContainer(ctx, *info.ID, "", 10*time.Second)
	if err != nil {
		t.Fatalf("StopContainer of a container removed as it stopped: %v", err)
	}
	if st := stopped.State; st.Running || st.ExitCode != 0 {
		t.Errorf("stopped: %+v, want exited with 0", st)
	}
	select {
	case err := <-removed:
		if err != nil {
			t.Errorf("the removal on the die event: %v", err)
		}
	case <-time.After(testWait):
		t.Fatal("no removal on the die event")
	}
}
