package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
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
