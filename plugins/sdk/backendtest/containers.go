package backendtest

import (
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// subtest is one named test of the container contract.
type subtest struct {
	name string
	run  func(t *testing.T)
}

// runAll runs the subtests at once, each in its own goroutine. They boot their own containers and spend
// most of their time waiting on guests, so they are not held to -test.parallel's slots (t.Run may be
// called from several goroutines, as long as all return before t's function does).
func runAll(t *testing.T, tests []subtest) {
	var wg sync.WaitGroup
	for _, st := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(st.name, st.run)
		}()
	}
	wg.Wait()
}

func group(tests ...subtest) func(t *testing.T) { return func(t *testing.T) { runAll(t, tests) } }

// testContainers runs the container contract: lifecycle, attach, logs, wait, stop, signal, rename, remove
// and the error classes, on containers of a busybox image written through the port layer.
func testContainers(t *testing.T, s *suite) {
	if s.opts.noGuests != "" {
		t.Skip(s.opts.noGuests)
	}
	s.writeBusybox(t)
	runAll(t, []subtest{
		{"create", s.testCreate},
		{"inspect", s.testInspect},
		{"changes", s.testChangeClock},
		{"list", s.testList},
		{"list/filters", s.testListFilters},
		{"list/known-specs", s.testListKnownSpecs},
		{"spec", group(
			subtest{"round-trip", s.testSpecRoundTrip},
			subtest{"guest", s.testSpecGuest},
		)},
		{"annotations", s.testAnnotations},
		{"endpoints", s.testEndpoints},
		{"network", s.testNetworkGuest},
		{"network/container", s.testContainerNetwork},
		{"rename", s.testRename},
		{"start", group(
			subtest{"running", s.testStartRunning},
			subtest{"failure", s.testStartFailure},
		)},
		{"state", group(
			subtest{"exited", s.testStateExited},
			subtest{"restarted", s.testStateRestarted},
		)},
		{"attach", group(
			subtest{"stdio", s.testAttachStdio},
			subtest{"streams", s.testAttachStreams},
			subtest{"tty", s.testAttachTTY},
			subtest{"resize", s.testAttachResize},
			subtest{"detach", s.testAttachDetach},
		)},
		{"mounts", s.testMounts},
		{"archive", group(
			subtest{"running", s.testArchiveRunning},
			subtest{"created", s.testArchiveCreated},
			subtest{"errors", s.testArchiveErrors},
		)},
		{"tasks", s.testTasks},
		{"running", s.testRunning},
		{"usage", s.testUsage},
		{"logs", s.testLogs},
		{"logs/follow", s.testLogsFollow},
		{"logs/follow-removed", s.testLogsFollowRemoved},
		{"wait", group(
			subtest{"not-running", s.testWaitNotRunning},
			subtest{"next-exit", s.testWaitNextExit},
			subtest{"removed", s.testWaitRemoved},
		)},
		{"stop", group(
			subtest{"signal", s.testStopSignal},
			subtest{"stop-signal", s.testStopOtherSignal},
			subtest{"timeout", s.testStopTimeout},
		)},
		{"signal", s.testSignal},
		{"events", s.testContainerEvents},
		{"remove", group(
			subtest{"running", s.testRemoveRunning},
			subtest{"exited", s.testRemoveExited},
		)},
		{"errors", group(
			subtest{"not-found", s.testNotFound},
			subtest{"invalid-id", s.testInvalidID},
			subtest{"duplicate", s.testDuplicate},
			subtest{"invalid-spec", s.testInvalidSpec},
			subtest{"missing-layer", s.testMissingLayer},
			subtest{"not-running", s.testNotRunning},
			subtest{"invalid-argument", s.testInvalidArgument},
		)},
	})
}

// forever is a process that runs until it is stopped.
var forever = sh("while :; do sleep 1; done")

func (s *suite) testCreate(t *testing.T) {
	spec := s.spec(newID(), s.newName(t), forever)
	spec.Resources = &models.Resources{Cpus: 1, MemoryMB: 512}
	c := s.createSpec(t, spec)
	switch {
	case *c.ID != *spec.ID || *c.Name != *spec.Name || c.Spec == nil || c.Spec.Layer != s.layer:
		t.Errorf("created %s %q with spec %+v, want %s %q on %s", *c.ID, *c.Name, c.Spec, *spec.ID, *spec.Name, s.layer)
	case c.Spec.Resources == nil || c.Spec.Resources.Cpus != 1 || c.Spec.Resources.MemoryMB != 512:
		t.Errorf("created with resources %+v, want 1 CPU and 512 MiB", c.Spec.Resources)
	case c.Spec.Annotations["conformance"] != *spec.Name:
		t.Errorf("annotations %v, want the spec's %v", c.Spec.Annotations, spec.Annotations)
	case c.State == nil || c.State.Status == nil || *c.State.Status != "created" || c.State.Running || c.State.Boot != 0:
		t.Errorf("a new container is %s, want created", stateText(c.State))
	case c.State.StartedAt != "" || c.State.FinishedAt != "":
		t.Errorf("a new container has times: %s", stateText(c.State))
	}
	created := parseTime(t, "created", c.Created)
	if age := time.Since(created); age < -time.Minute || age > 10*time.Minute {
		t.Errorf("created at %s, %s from now", c.Created, age)
	}
	// Without sizes the backend picks its own.
	d := s.create(t, forever)
	if r := d.Spec.Resources; r == nil || r.Cpus <= 0 || r.MemoryMB <= 0 {
		t.Errorf("default size %+v", r)
	}
}

func (s *suite) testInspect(t *testing.T) {
	c := s.create(t, forever)
	got := s.get(t, *c.ID)
	sameContainer(t, got, c)
	s.start(t, *c.ID)
	if got := s.get(t, *c.ID); !got.State.Running || *got.State.Status != "running" || got.State.Pid <= 0 || got.State.Boot != 1 {
		t.Errorf("a started container inspects as %s", stateText(got.State))
	}
}

// sameContainer compares what must not change between two descriptions of one container.
func sameContainer(t *testing.T, got, want *models.ContainerInfo) {
	t.Helper()
	if *got.ID != *want.ID || *got.Name != *want.Name || got.Created != want.Created || !reflect.DeepEqual(got.Spec, want.Spec) {
		t.Errorf("container described as %+v, earlier as %+v", got, want)
	}
}

func (s *suite) list(t *testing.T) map[string]*models.ContainerInfo {
	t.Helper()
	resp, err := s.pl.Containers.ListContainers(containers.NewListContainersParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatalf("list containers: %v", errText(err))
	}
	out := map[string]*models.ContainerInfo{}
	for _, c := range resp.Payload {
		if c.ID == nil || c.Name == nil || c.State == nil {
			t.Fatalf("listed a container without id, name or state: %+v", c)
		}
		out[*c.ID] = c
	}
	return out
}

// The unfiltered list has every container, created, running or exited.
func (s *suite) testList(t *testing.T) {
	created := s.create(t, forever)
	running := s.run(t, forever)
	exited := s.run(t, sh("exit 0"))
	s.exited(t, *exited.ID, 0)
	all := s.list(t)
	for want, c := range map[string]*models.ContainerInfo{"created": created, "running": running, "exited": exited} {
		got, ok := all[*c.ID]
		if !ok {
			t.Errorf("the %s container %s is not listed", want, *c.ID)
			continue
		}
		sameContainer(t, got, c)
		if *got.State.Status != want {
			t.Errorf("the %s container is listed as %s", want, stateText(got.State))
		}
	}
	s.remove(t, *exited.ID, false)
	if _, ok := s.list(t)[*exited.ID]; ok {
		t.Error("a removed container is still listed")
	}
}

func (s *suite) testAnnotations(t *testing.T) {
	c := s.create(t, forever)
	set := map[string]string{"a": "1", "b": `{"json": ["value"]}`}
	resp, err := s.pl.Containers.SetAnnotations(containers.NewSetAnnotationsParamsWithContext(ctx(t)).WithID(*c.ID).WithAnnotations(set))
	if err != nil {
		t.Fatalf("set annotations: %v", errText(err))
	}
	for _, got := range []*models.ContainerInfo{resp.Payload, s.get(t, *c.ID)} {
		if a := got.Spec.Annotations; len(a) != 2 || a["a"] != "1" || a["b"] != set["b"] {
			t.Errorf("annotations %v, want exactly %v (replaced, not merged)", a, set)
		}
	}
}

func (s *suite) rename(t *testing.T, id, name string) (*models.ContainerInfo, error) {
	resp, err := s.pl.Containers.RenameContainer(containers.NewRenameContainerParamsWithContext(ctx(t)).WithID(id).WithName(name))
	if err != nil {
		return nil, err
	}
	return resp.Payload, nil
}

func (s *suite) testRename(t *testing.T) {
	c := s.run(t, forever)
	other := s.create(t, forever)
	name := s.newName(t) + "-renamed"
	got, err := s.rename(t, *c.ID, name)
	if err != nil {
		t.Fatalf("rename: %v", errText(err))
	}
	if *got.Name != name || *s.get(t, *c.ID).Name != name || !got.State.Running {
		t.Errorf("renamed to %q, inspect says %q, state %s", *got.Name, *s.get(t, *c.ID).Name, stateText(got.State))
	}
	if got, err := s.rename(t, *c.ID, name); err != nil || *got.Name != name {
		t.Errorf("renaming to its own name: %v", errText(err))
	}
	_, err = s.rename(t, *other.ID, name)
	wantClass(t, err, http.StatusConflict, "conflict")
	_, err = s.rename(t, *c.ID, "a/b")
	wantClass(t, err, http.StatusBadRequest, "invalid")
	if *s.get(t, *other.ID).Name != *other.Name {
		t.Error("a refused rename changed the name")
	}
	// The old name is free again.
	if _, err := s.rename(t, *other.ID, *c.Name); err != nil {
		t.Errorf("take the old name: %v", errText(err))
	}
}

func (s *suite) remove(t *testing.T, id string, force bool) {
	t.Helper()
	if _, err := s.pl.Containers.RemoveContainer(containers.NewRemoveContainerParamsWithContext(ctx(t)).WithID(id).WithForce(&force)); err != nil {
		t.Fatalf("remove %s (force %v): %v", id, force, errText(err))
	}
}

func parseTime(t *testing.T, what, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q is not RFC 3339: %v", what, s, err)
	}
	return v
}
