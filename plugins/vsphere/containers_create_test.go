package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// TestCreatesSideBySide creates containers at once: creates no longer run one at a time, yet of four with
// one name exactly one is made (the others conflict), and eight on one network get eight addresses.
func TestCreatesSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("creates sixteen VMs")
	}
	m := oneCluster()
	e := newContainerEnvOn(t, m)
	ctx := context.Background()
	if e.b.cfg.Networks.BridgePortGroup == "" {
		e.b.cfg.Networks.BridgePortGroup = "DC0_DVPG0"
	}
	net := "side"
	scope, err := e.b.CreateScope(ctx, &models.ScopeSpec{Name: &net})
	if err != nil {
		t.Fatalf("CreateScope: %v", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		s := spec(fmt.Sprintf("same-%d", i), "", models.Process{}, nil)
		*s.Name = "same"
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.b.CreateContainer(ctx, s)
		}()
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch {
		case err == nil:
			made++
		case !errors.Is(err, errdefs.ErrConflict):
			t.Errorf("a create of a taken name failed with %v, want a conflict", err)
		}
	}
	if made != 1 {
		t.Fatalf("%d of 4 creates named \"same\" made a container, want 1 (%v)", made, errs)
	}

	infos := make([]*models.ContainerInfo, 8)
	errs = make([]error, len(infos))
	for i := range infos {
		s := spec(fmt.Sprintf("net-%d", i), "", models.Process{}, nil)
		s.Endpoints = []*models.Endpoint{{Network: &scope.ID}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = e.b.CreateContainer(ctx, s)
		}()
	}
	wg.Wait()
	seen := map[netip.Addr]string{}
	for i, info := range infos {
		if errs[i] != nil {
			t.Fatalf("create net-%d: %v", i, errs[i])
		}
		c, err := e.b.containerVM(ctx, *info.ID)
		if err != nil {
			t.Fatal(err)
		}
		ep := c.endpoint(scope.ID)
		if ep == nil || !ep.IP.IsValid() {
			t.Fatalf("net-%d has no address on %s: %+v", i, net, ep)
		}
		if other, dup := seen[ep.IP]; dup {
			t.Fatalf("net-%d and %s both have %s", i, other, ep.IP)
		}
		seen[ep.IP] = fmt.Sprintf("net-%d", i)
	}
	if len(e.b.ctr.creating) != 0 {
		t.Fatalf("%d creates still reserved after all ended", len(e.b.ctr.creating))
	}
}

// TestCreateAnswersAsARead checks that CreateContainer's answer, made from the spec it gave CreateVM and the
// task's result, is the one a read of the new VM gives: the whole description, and each property of the
// containerVM it is made of.
func TestCreateAnswersAsARead(t *testing.T) {
	m := oneCluster()
	e := newContainerEnvOn(t, m)
	ctx := context.Background()
	if e.b.cfg.Networks.BridgePortGroup == "" {
		e.b.cfg.Networks.BridgePortGroup = "DC0_DVPG0"
	}
	net := "answers"
	scope, err := e.b.CreateScope(ctx, &models.ScopeSpec{Name: &net})
	if err != nil {
		t.Fatalf("CreateScope: %v", err)
	}
	layer := e.emptyLayer(t)

	plain := spec("plain", "", models.Process{}, nil)
	full := spec("full", layer, models.Process{Path: "/bin/sh", Args: []string{"-c", "echo hi"}, Env: []string{"A=1"},
		WorkingDir: "/tmp", User: "nobody", Tty: true, OpenStdin: true, StdinOnce: true},
		map[string]string{"image": "busybox", "empty": ""})
	full.Hostname, full.Domainname = "full-host", "example.org"
	full.Labels = map[string]string{"a": "b"}
	full.StopSignal, full.StopTimeout = "SIGINT", ptrTo(int64(7))
	full.Resources = &models.Resources{Cpus: 1, MemoryMB: 512}
	full.DNS = &models.DNSConfig{Servers: []string{"192.0.2.53"}, Search: []string{"example.org"}, Options: []string{"ndots:2"}}
	full.ExtraHosts = []*models.HostEntry{{Hostname: ptrTo("db"), IP: ptrTo("192.0.2.7")}}
	full.HoldForAttach = true
	full.Endpoints = []*models.Endpoint{{Network: &scope.ID, Aliases: []string{"svc"}}}
	full.Mounts = []*models.Mount{{Type: "tmpfs", Destination: "/scratch", SizeBytes: 1 << 20}}

	for _, s := range []*models.ContainerSpec{plain, full} {
		made, err := e.b.createContainerVM(ctx, s)
		if err != nil {
			t.Fatalf("CreateContainer %s: %v", *s.Name, err)
		}
		read, err := e.b.readVM(ctx, made.ref)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(e.b.info(read))
		got, _ := json.Marshal(e.b.info(made))
		if string(got) != string(want) {
			t.Errorf("%s: CreateContainer answered\n%s\na read says\n%s", *s.Name, got, want)
		}
		if made.vmName != read.vmName || made.vmx != read.vmx || made.power != read.power || made.cpus != read.cpus ||
			made.memMB != read.memMB || made.hotCPU != read.hotCPU || made.hotMemory != read.hotMemory {
			t.Errorf("%s: made %+v, read %+v", *s.Name, made, read)
		}
		for k, v := range made.extra {
			if r, ok := read.extra[k]; !ok || r != v {
				t.Errorf("%s: extraConfig %s is %q in the answer, %q (present %v) in a read", *s.Name, k, v, r, ok)
			}
		}
		for k, v := range read.extra {
			if _, ok := made.extra[k]; !ok && strings.HasPrefix(k, wire.ConfigPrefix) {
				t.Errorf("%s: a read has the endpoint's key %s=%q, the answer does not", *s.Name, k, v)
			}
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestRefusedCreateLeavesFolders checks the folders around a create that the name check refuses while the
// disk is being made: a create of a container's own ID and name (its very folder) leaves that folder as it
// was, and one of a taken name with a new ID leaves no folder of its own behind.
func TestRefusedCreateLeavesFolders(t *testing.T) {
	e := newContainerEnv(t)
	ctx := context.Background()
	first := e.create(t, spec("keep", "", models.Process{}, nil))
	folder := e.local(vmNameOf("keep", *first.ID))
	before, err := os.ReadDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CreateContainer(ctx, spec("keep", "", models.Process{}, nil)); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("a second create of the same ID and name: %v, want a conflict", err)
	}
	after, err := os.ReadDir(folder)
	if err != nil {
		t.Fatalf("the first container's folder after the refused create: %v", err)
	}
	if names(before) != names(after) {
		t.Fatalf("the first container's folder had %s, has %s after the refused create", names(before), names(after))
	}
	if _, err := e.b.GetContainer(ctx, *first.ID); err != nil {
		t.Fatalf("the first container after the refused create: %v", err)
	}

	other := spec("other", "", models.Process{}, nil)
	*other.Name = "keep"
	if _, err := e.b.CreateContainer(ctx, other); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("a create of a taken name: %v, want a conflict", err)
	}
	if _, err := os.Stat(e.local(vmNameOf("keep", *other.ID))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused create's folder: %v, want it gone", err)
	}
}

func names(entries []os.DirEntry) string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return strings.Join(out, " ")
}

// TestWaitFindsItsContainer checks that a wait, which reads a container it knows only through await's first
// read, still finds it when the VM it knew is another container's or gone: the wait answers for its own
// container, and the reference is right afterwards.
func TestWaitFindsItsContainer(t *testing.T) {
	e := newContainerEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := e.create(t, spec("wait-a", "", models.Process{}, nil))
	b := e.create(t, spec("wait-b", "", models.Process{}, nil))
	var refB types.ManagedObjectReference
	refB.FromString(b.VM)
	for what, ref := range map[string]types.ManagedObjectReference{
		"another container's VM": refB,
		"a VM that is gone":      {Type: "VirtualMachine", Value: "vm-gone"},
	} {
		e.b.ctr.refs.Store(*a.ID, ref)
		st, err := e.b.WaitContainer(ctx, *a.ID, "not-running")
		if err != nil || st == nil || *st.Status != statusCreated {
			t.Fatalf("a wait whose reference is %s: %+v, %v; want the created state", what, st, err)
		}
		if got, ok := e.b.ctr.refs.Load(*a.ID); !ok || got.(types.ManagedObjectReference).String() != a.VM {
			t.Fatalf("after a wait whose reference was %s, the reference is %v, want %s", what, got, a.VM)
		}
	}
	if _, err := e.b.WaitContainer(ctx, testID("never made"), "not-running"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("a wait for a container that never was: %v, want not found", err)
	}
}
