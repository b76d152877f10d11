package vsphere

import (
	"context"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// TestStartingContainerIsNotKilled looks at a container between the reconfigure that counts its boot and the
// end of its power-on (held open here by a simulator slow to power VMs on): its VM is off and no status of
// the new boot exists yet, which must read as starting, not as a process that died with its VM (137). A
// next-exit wait taken in that window waits for this boot's exit and gets the guest's own code.
func TestStartingContainerIsNotKilled(t *testing.T) {
	m := oneCluster()
	m.DelayConfig.MethodDelay = map[string]int{"PowerOnVM_Task": 1500}
	e := newContainerEnvOn(t, m)
	info := e.create(t, spec("quick", "", models.Process{Path: "/bin/true"}, nil))
	id := *info.ID
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	g := newFakeGuest(t, e.c, info.VM, id)
	booted := g.bootWhenOn(ctx, e.b.ctr.attach.advertise)
	started := make(chan error, 1)
	go func() {
		_, err := e.b.StartContainer(ctx, id)
		started <- err
	}()
	var waited chan *models.ContainerState
	for waited == nil {
		c, err := e.b.GetContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-started:
			t.Fatalf("the start ended (%v) before the test saw its boot counted with the VM still off", err)
		default:
		}
		if c.State.Boot != 1 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if m := e.vm(t, info); m.Runtime.PowerState != "poweredOff" {
			t.Fatalf("the VM is %s already: the simulator's delay did not hold the power-on", m.Runtime.PowerState)
		}
		if !c.State.Running || *c.State.Status != statusRunning || c.State.ExitCode != 0 {
			t.Fatalf("a container whose VM is being powered on: %+v (status %s)", c.State, *c.State.Status)
		}
		waited = make(chan *models.ContainerState, 1)
		go func() {
			st, err := e.b.WaitContainer(ctx, id, "next-exit")
			if err != nil {
				t.Errorf("WaitContainer: %v", err)
			}
			waited <- st
		}()
	}
	if err := <-started; err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	if err := <-booted; err != nil {
		t.Fatalf("fake guest: %v", err)
	}
	if err := g.exit(ctx, 3); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-waited:
		if st == nil || st.ExitCode != 3 || st.Running || st.Boot != 1 {
			t.Errorf("next-exit wait taken while starting: %+v", st)
		}
	case <-ctx.Done():
		t.Fatal("the next-exit wait taken while starting did not see this boot's exit")
	}
}
