package vsphere

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// A listing describes every VM as a full read of it would at that moment, whoever changed it: another
// client's reconfigure (a new config.changeVersion), a power-on and a rename (no new changeVersion), the
// guest's own status write, which on ESXi (VMware Tools' info-set) may leave the changeVersion as it was, and
// a VM destroyed. Only the reconfigured VM is read in full again.
func TestListingReadsWhatChanged(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	e := &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
	alpha := e.create(t, spec("alpha", "", models.Process{Path: "/a"}, nil))
	beta := e.create(t, spec("beta", "", models.Process{Path: "/b"}, nil))
	gamma := e.create(t, spec("gamma", "", models.Process{Path: "/c"}, nil))
	// Every listing probes: without the watch no probe is answered again (vm_probes_test.go has those).
	b.stopWatch()
	vm := func(info *models.ContainerInfo) *object.VirtualMachine {
		var ref types.ManagedObjectReference
		ref.FromString(info.VM)
		return object.NewVirtualMachine(e.c, ref)
	}
	wait := func(task *object.Task, err error) { t.Helper(); waitTask(t, task, err) }
	list := func() map[string]*models.ContainerInfo { t.Helper(); return listedByName(t, b) }
	version := func(info *models.ContainerInfo) string {
		var ref types.ManagedObjectReference
		ref.FromString(info.VM)
		b.ctr.reads.mu.Lock()
		defer b.ctr.reads.mu.Unlock()
		return b.ctr.reads.m[ref].version
	}
	if got := list(); len(got) != 3 {
		t.Fatalf("listed %d containers, want 3", len(got))
	}
	betaVersion := version(beta)

	// Another client renames alpha's container (its extraConfig: a reconfigure), powers beta's VM on,
	// renames beta's VM and destroys gamma's.
	wait(vm(alpha).Reconfigure(ctx, extraConfigChange(map[string]string{keyName: "alpha2"})))
	wait(vm(beta).PowerOn(ctx))
	wait(vm(beta).Rename(ctx, "beta-vm"))
	wait(vm(gamma).Destroy(ctx))
	// beta's guest reports its process, with no new changeVersion.
	status, _ := json.Marshal(wire.GuestStatus{State: wire.StateRunning, Pid: 42})
	sctx := simulator.NewContext()
	sctx.Map = s.model.Map()
	simVM := s.model.Map().Get(vm(beta).Reference()).(*simulator.VirtualMachine)
	sctx.WithLock(simVM, func() {
		simVM.Config.ExtraConfig = append(simVM.Config.ExtraConfig, &types.OptionValue{Key: wire.KeyStatus, Value: string(status)})
	})

	got := list()
	if len(got) != 2 || got["alpha2"] == nil || got["beta"] == nil {
		t.Fatalf("listed %v, want alpha2 and beta", got)
	}
	if version(beta) != betaVersion {
		t.Errorf("beta was read in full again (version %s, was %s): only its probe changed", version(beta), betaVersion)
	}
	if b := got["beta"]; !b.State.Running || b.State.Pid != 42 || b.VMName != "beta-vm" {
		t.Errorf("beta: running %v pid %d VM %s, want running, pid 42, VM beta-vm", b.State.Running, b.State.Pid, b.VMName)
	}
	// Each listed description is what a read of that VM alone says.
	for name, listed := range got {
		one, err := b.GetContainer(ctx, *listed.ID)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := json.Marshal(listed)
		o, _ := json.Marshal(one)
		if string(l) != string(o) {
			t.Errorf("%s listed as\n%s\nread alone as\n%s", name, l, o)
		}
	}
	// The full read of the pool (what a server refusing the probe gets) says the same.
	full, err := b.readPool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range full {
		if c.id() == "" {
			continue
		}
		listed := got[c.name()]
		if listed == nil {
			t.Errorf("the full read has %s, the listing does not", c.name())
			continue
		}
		l, _ := json.Marshal(listed)
		f, _ := json.Marshal(b.info(b.withStart(c)))
		if string(l) != string(f) {
			t.Errorf("%s listed as\n%s\nread in full as\n%s", c.name(), l, f)
		}
	}
	b.ctr.reads.mu.Lock()
	defer b.ctr.reads.mu.Unlock()
	var gammaRef types.ManagedObjectReference
	gammaRef.FromString(gamma.VM)
	if _, kept := b.ctr.reads.m[gammaRef]; kept {
		t.Errorf("the destroyed VM's last read is still kept")
	}
}

// A server that refuses the probe's keyed path (InvalidProperty) gets full reads of the pool from then on,
// and the listing says the same.
func TestListingWithoutProbe(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	e := &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
	e.create(t, spec("alpha", "", models.Process{Path: "/a"}, nil))
	var refused atomic.Int32
	s.model.Map().Handler = func(_ *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if req, ok := m.Body.(*types.RetrievePropertiesEx); ok {
			for _, fs := range req.SpecSet {
				for _, ps := range fs.PropSet {
					if slices.Contains(ps.PathSet, statusProperty) {
						refused.Add(1)
						return nil, &types.InvalidProperty{Name: statusProperty}
					}
				}
			}
		}
		return nil, nil
	}
	for range 2 {
		got, err := b.ListContainers(ctx, sdk.ListFilter{})
		if err != nil || len(got) != 1 || *got[0].Name != "alpha" {
			t.Fatalf("ListContainers: %v %v", got, err)
		}
	}
	if n := refused.Load(); n != 1 || !b.ctr.reads.noProbe.Load() {
		t.Errorf("the probe was refused %d times, probing stopped: %v; want once, and stopped", n, b.ctr.reads.noProbe.Load())
	}
}

// A description of one container (GetContainer) probes its VM and reads it in full only when its
// changeVersion moved; every change a full read would see is in the description: a power-on, a rename of
// the VM and the guest's status write (no new changeVersion), another client's reconfigure (a new one), and
// the VM's destruction.
func TestDescriptionReadsWhatChanged(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	e := &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
	alpha := e.create(t, spec("alpha", "", models.Process{Path: "/a"}, nil))
	// The watch reads each VM it sees changed in full too: only this test's reads are counted.
	b.stopWatch()
	var ref types.ManagedObjectReference
	ref.FromString(alpha.VM)
	vm := object.NewVirtualMachine(e.c, ref)
	var full, probes atomic.Int32
	s.model.Map().Handler = func(_ *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if req, ok := m.Body.(*types.RetrievePropertiesEx); ok {
			for _, fs := range req.SpecSet {
				for _, ps := range fs.PropSet {
					switch {
					case slices.Contains(ps.PathSet, "config.extraConfig"):
						full.Add(1)
					case slices.Contains(ps.PathSet, statusProperty):
						probes.Add(1)
					}
				}
			}
		}
		return nil, nil
	}
	wait := func(task *object.Task, err error) { t.Helper(); waitTask(t, task, err) }
	get := func() *models.ContainerInfo { t.Helper(); return described(t, b, *alpha.ID) }
	// Described as a full read describes it.
	same := func(info *models.ContainerInfo) {
		t.Helper()
		read, err := b.readVM(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := json.Marshal(info)
		f, _ := json.Marshal(b.info(read))
		if string(d) != string(f) {
			t.Errorf("described as\n%s\nread in full as\n%s", d, f)
		}
	}

	get() // reads the VM in full when it changed since the create's last read of it
	full.Store(0)
	get()
	if n := full.Load(); n != 0 {
		t.Errorf("an unchanged VM was read in full %d times, want 0", n)
	}
	wait(vm.PowerOn(ctx))
	wait(vm.Rename(ctx, "alpha-vm"))
	status, _ := json.Marshal(wire.GuestStatus{State: wire.StateRunning, Pid: 42})
	sctx := simulator.NewContext()
	sctx.Map = s.model.Map()
	simVM := s.model.Map().Get(ref).(*simulator.VirtualMachine)
	sctx.WithLock(simVM, func() {
		simVM.Config.ExtraConfig = append(simVM.Config.ExtraConfig, &types.OptionValue{Key: wire.KeyStatus, Value: string(status)})
	})
	full.Store(0)
	got := get()
	if n := full.Load(); n != 0 {
		t.Errorf("a VM with the same changeVersion was read in full %d times, want 0", n)
	}
	if !got.State.Running || got.State.Pid != 42 || got.VMName != "alpha-vm" {
		t.Errorf("described running %v, pid %d, VM %s; want running, pid 42, VM alpha-vm", got.State.Running, got.State.Pid, got.VMName)
	}
	same(got)

	wait(vm.Reconfigure(ctx, extraConfigChange(map[string]string{keyName: "alpha2"})))
	full.Store(0)
	if got := get(); *got.Name != "alpha2" {
		t.Errorf("described as %s after the reconfigure, want alpha2", *got.Name)
	}
	if n := full.Load(); n != 1 {
		t.Errorf("a reconfigured VM was read in full %d times, want 1", n)
	}
	if probes.Load() == 0 {
		t.Errorf("no VM was probed")
	}

	wait(vm.PowerOff(ctx))
	wait(vm.Destroy(ctx))
	if _, err := b.GetContainer(ctx, *alpha.ID); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("GetContainer of a destroyed VM: %v, want not found", err)
	}
}

// listedByName lists b's containers by name, failing t on an error.
func listedByName(t *testing.T, b *Backend) map[string]*models.ContainerInfo {
	t.Helper()
	all, err := b.ListContainers(context.Background(), sdk.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*models.ContainerInfo{}
	for _, c := range all {
		out[*c.Name] = c
	}
	return out
}

// described is b's description of the container id, failing t on an error.
func described(t *testing.T, b *Backend, id string) *models.ContainerInfo {
	t.Helper()
	info, err := b.GetContainer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// waitTask waits for a task another client started (err: the start's error), failing t on an error.
func waitTask(t *testing.T, task *object.Task, err error) {
	t.Helper()
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
}
