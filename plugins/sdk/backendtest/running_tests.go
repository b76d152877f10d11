package backendtest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/client/tasks"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// testRunning is what the port layer does to running containers: pause, resize, top, stats.
func (s *suite) testRunning(t *testing.T) {
	runAll(t, []subtest{
		{"pause", s.testPause},
		{"top", s.testTop},
		{"stats", s.testStats},
		{"resources", s.testResources},
	})
}

// counter logs a number every 100 ms.
var counter = sh("i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done")

// A paused container is paused and running, takes no task, and its process does not advance until it is
// unpaused.
func (s *suite) testPause(t *testing.T) {
	c := s.run(t, counter)
	s.waitLog(t, *c.ID, "3")
	resp, err := s.pl.Containers.PauseContainer(containers.NewPauseContainerParamsWithContext(ctx(t)).WithID(*c.ID))
	if err != nil {
		t.Fatalf("pause: %v", errText(err))
	}
	if st := resp.Payload.State; st.Status == nil || *st.Status != "paused" || !st.Running || !st.Paused {
		t.Fatalf("a paused container is %s (paused %v)", stateText(st), st.Paused)
	}
	before := len(s.logs(t, *c.ID, logQuery{}))
	time.Sleep(time.Second)
	if after := len(s.logs(t, *c.ID, logQuery{})); after > before+1 { // a line in flight may still land
		t.Errorf("the paused process went on: %d log lines, then %d", before, after)
	}
	_, err = s.pl.Containers.PauseContainer(containers.NewPauseContainerParamsWithContext(ctx(t)).WithID(*c.ID))
	wantClass(t, err, http.StatusConflict, "conflict")
	_, err = s.pl.Tasks.CreateTask(tasks.NewCreateTaskParamsWithContext(ctx(t)).WithID(*c.ID).WithSpec(taskSpec(sh("true"))))
	wantClass(t, err, http.StatusConflict, "conflict")
	stats, err := s.pl.Containers.GetContainerStats(containers.NewGetContainerStatsParamsWithContext(ctx(t)).WithID(*c.ID))
	if err != nil || stats.Payload.Memory == nil || stats.Payload.Memory.Limit == 0 {
		t.Errorf("stats of a paused container: %v", errText(err))
	}

	resp2, err := s.pl.Containers.UnpauseContainer(containers.NewUnpauseContainerParamsWithContext(ctx(t)).WithID(*c.ID))
	if err != nil {
		t.Fatalf("unpause: %v", errText(err))
	}
	if st := resp2.Payload.State; *st.Status != "running" || st.Paused {
		t.Fatalf("an unpaused container is %s", stateText(st))
	}
	paused := len(s.logs(t, *c.ID, logQuery{}))
	s.waitLog(t, *c.ID, strconv.Itoa(paused+5))
	_, err = s.pl.Containers.UnpauseContainer(containers.NewUnpauseContainerParamsWithContext(ctx(t)).WithID(*c.ID))
	wantClass(t, err, http.StatusConflict, "conflict")

	// A paused container stops (powered off) and is removable.
	if _, err := s.pl.Containers.PauseContainer(containers.NewPauseContainerParamsWithContext(ctx(t)).WithID(*c.ID)); err != nil {
		t.Fatalf("pause again: %v", errText(err))
	}
	if st := s.stop(t, *c.ID, "", 1).State; st.Running || *st.Status != "exited" {
		t.Errorf("a paused container stopped as %s", stateText(st))
	}
}

// top lists the guest's processes in ps's columns; arguments ps does not take are invalid.
func (s *suite) testTop(t *testing.T) {
	c := s.run(t, sh("exec sleep 600"))
	s.get(t, *c.ID)
	resp, err := s.pl.Containers.TopContainer(containers.NewTopContainerParamsWithContext(ctx(t)).WithID(*c.ID))
	if err != nil {
		t.Fatalf("top: %v", errText(err))
	}
	pl := resp.Payload
	if strings.Join(pl.Titles, " ") != "UID PID PPID C STIME TTY TIME CMD" || len(pl.Processes) != 1 || pl.Processes[0][7] != "sleep 600" {
		t.Errorf("top: %q %q", pl.Titles, pl.Processes)
	}
	args := "-o pid,user,args"
	resp, err = s.pl.Containers.TopContainer(containers.NewTopContainerParamsWithContext(ctx(t)).WithID(*c.ID).WithPsArgs(&args))
	if err != nil || strings.Join(resp.Payload.Titles, " ") != "PID USER COMMAND" {
		t.Errorf("top %s: %+v %v", args, resp, errText(err))
	}
	bad := "--no-such-option"
	_, err = s.pl.Containers.TopContainer(containers.NewTopContainerParamsWithContext(ctx(t)).WithID(*c.ID).WithPsArgs(&bad))
	wantClass(t, err, http.StatusBadRequest, "invalid")
	stopped := s.create(t, forever)
	_, err = s.pl.Containers.TopContainer(containers.NewTopContainerParamsWithContext(ctx(t)).WithID(*stopped.ID))
	wantClass(t, err, http.StatusConflict, "conflict")
}

// stats has the guest's usage and the VM's memory as the limit; a container not running has its limits
// only.
func (s *suite) testStats(t *testing.T) {
	spec := s.spec(newID(), s.newName(t), sh("while :; do :; done"))
	spec.Resources = &models.Resources{Cpus: 1, MemoryMB: 512}
	c := s.createSpec(t, spec)
	s.start(t, *c.ID)
	sample := func() *models.ContainerStats {
		t.Helper()
		resp, err := s.pl.Containers.GetContainerStats(containers.NewGetContainerStatsParamsWithContext(ctx(t)).WithID(*c.ID))
		if err != nil {
			t.Fatalf("stats: %v", errText(err))
		}
		return resp.Payload
	}
	first := sample()
	time.Sleep(500 * time.Millisecond)
	second := sample()
	switch {
	case first.Read == nil || *first.Read == "":
		t.Errorf("a sample without its time")
	case second.CPU.TotalUsage <= first.CPU.TotalUsage || second.CPU.SystemUsage <= first.CPU.SystemUsage:
		t.Errorf("CPU did not advance: %+v then %+v", first.CPU, second.CPU)
	case second.Memory.Usage <= 0 || second.Memory.Limit != 512<<20:
		t.Errorf("memory %+v, want a usage and the VM's 512 MiB as the limit", second.Memory)
	case second.Pids.Current < 1 || second.CPU.OnlineCpus != 1:
		t.Errorf("pids %+v, online CPUs %d", second.Pids, second.CPU.OnlineCpus)
	}
	s.stop(t, *c.ID, "KILL", 0)
	if idle := sample(); *idle.Read != "" || idle.CPU.TotalUsage != 0 || idle.Memory.Usage != 0 || idle.Memory.Limit != 512<<20 {
		t.Errorf("stats of a stopped container: %+v %+v", idle.CPU, idle.Memory)
	}
}

// A running containerVM grows hot; a smaller size waits for its next start, with a warning.
func (s *suite) testResources(t *testing.T) {
	spec := s.spec(newID(), s.newName(t), forever)
	spec.Resources = &models.Resources{Cpus: 1, MemoryMB: 512}
	c := s.createSpec(t, spec)
	s.start(t, *c.ID)
	update := func(r *models.Resources) *models.ResourcesUpdate {
		t.Helper()
		resp, err := s.pl.Containers.UpdateResources(containers.NewUpdateResourcesParamsWithContext(ctx(t)).WithID(*c.ID).WithResources(r))
		if err != nil {
			t.Fatalf("update resources %+v: %v", r, errText(err))
		}
		return resp.Payload
	}
	u := update(&models.Resources{Cpus: 2, MemoryMB: 1024})
	if r := u.Container.Spec.Resources; r.Cpus != 2 || r.MemoryMB != 1024 || len(u.Warnings) != 0 || u.Pending != nil {
		t.Errorf("hot add: resources %+v, pending %+v, warnings %q", r, u.Pending, u.Warnings)
	}
	// The guest has what was added: its samples' memory limit is the VM's new memory.
	resp, err := s.pl.Containers.GetContainerStats(containers.NewGetContainerStatsParamsWithContext(ctx(t)).WithID(*c.ID))
	if err != nil || resp.Payload.Memory.Limit != 1024<<20 || resp.Payload.CPU.OnlineCpus != 2 {
		t.Errorf("stats after the hot add: %+v %+v %v", resp.Payload.Memory, resp.Payload.CPU, errText(err))
	}
	u = update(&models.Resources{MemoryMB: 768})
	if r := u.Container.Spec.Resources; r.MemoryMB != 1024 || len(u.Warnings) != 1 || u.Pending == nil || u.Pending.MemoryMB != 768 {
		t.Errorf("less memory while running: resources %+v, pending %+v, warnings %q", r, u.Pending, u.Warnings)
	}
	if p := s.get(t, *c.ID).PendingResources; p == nil || p.MemoryMB != 768 {
		t.Errorf("pending resources %+v", p)
	}
	s.stop(t, *c.ID, "KILL", 0)
	started := s.start(t, *c.ID)
	if r := started.Spec.Resources; r.MemoryMB != 768 || r.Cpus != 2 || started.PendingResources != nil {
		t.Errorf("after a restart: resources %+v, pending %+v", r, started.PendingResources)
	}
	_, err = s.pl.Containers.UpdateResources(containers.NewUpdateResourcesParamsWithContext(ctx(t)).WithID(*c.ID).
		WithResources(&models.Resources{MemoryMB: 1}))
	wantClass(t, err, http.StatusBadRequest, "invalid")
}
