package appliance

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Every change is written, an unchanged status is not written again, and a failed write is retried.
func TestReporter(t *testing.T) {
	gi := newFakeGuestInfo()
	r := newReporter(gi, slog.New(slog.DiscardHandler))
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	r.now = func() time.Time { return now }
	ctx := context.Background()

	r.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State, s.Version = vchwire.ApplianceBooting, "v1" })
	r.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State = vchwire.ApplianceBooting }) // no change
	r.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceStarting, Pid: 7})
	r.Service(ctx, vchwire.ServiceStatus{Name: ServicePortal, State: ServiceRunning})
	r.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceRunning, Pid: 7})
	w := gi.writes()
	if len(w) != 4 {
		t.Fatalf("%d writes, want 4: %+v", len(w), w)
	}
	last := w[3]
	if last.State != vchwire.ApplianceBooting || last.Version != "v1" || !last.Updated.Equal(now) || len(last.Services) != 2 ||
		last.Services[0] != (vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceRunning, Pid: 7}) {
		t.Errorf("last status %+v", last)
	}

	gi.mu.Lock()
	gi.failSets = 1
	gi.mu.Unlock()
	r.Update(ctx, func(s *vchwire.ApplianceStatus) { s.State = vchwire.ApplianceRunning })
	if got := gi.status().State; got != vchwire.ApplianceBooting {
		t.Fatalf("failed write stored %q", got)
	}
	r.Flush(ctx)
	if got := gi.status().State; got != vchwire.ApplianceRunning {
		t.Fatalf("retried write stored %q", got)
	}
	r.Flush(ctx)
	if n := len(gi.writes()); n != 5 {
		t.Errorf("%d writes, want 5", n)
	}
}
