package appliance

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
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

// What the appliance opened never goes back out: a service error that quotes the target (an engine
// repeating its plugin's failure, say) is written with the password hidden, in guestinfo and on the portal.
func TestReporterHidesSecrets(t *testing.T) {
	gi := newFakeGuestInfo()
	sec := &secrets{gi: gi}
	r := newReporter(gi, slog.New(slog.DiscardHandler))
	r.redact = sec.redact
	ctx := context.Background()
	cfg := &vchwire.ApplianceConfig{Target: "https://user@vc.example.com/sdk",
		TargetPassword: gi.seal(t, vchwire.SecretTargetPassword, testPassword)}
	target, err := sec.target(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(target, url.UserPassword("user", testPassword).String()) {
		t.Fatalf("target %q", target)
	}
	r.Service(ctx, vchwire.ServiceStatus{Name: ServiceEngine, State: ServiceFailed,
		Error: "plugin vsphere: login to " + target + " failed; password " + testPassword})
	got := gi.status().Services[0].Error
	if strings.Contains(got, testPassword) || strings.Contains(got, url.UserPassword("", testPassword).String()[1:]) ||
		!strings.Contains(got, "vc.example.com") {
		t.Errorf("written error %q", got)
	}
	if shown := r.Shown().Services[0].Error; shown != got {
		t.Errorf("the portal shows %q, guestinfo %q", shown, got)
	}

	// Without the endpoint key nothing opens, and the error says where the key should be.
	gi2 := newFakeGuestInfo()
	gi2.mu.Lock()
	delete(gi2.kv, vchwire.KeySecretKey)
	gi2.mu.Unlock()
	if _, err := (&secrets{gi: gi2}).target(ctx, cfg); !errors.Is(err, errNoKey) {
		t.Errorf("without the key: %v", err)
	}
	// A key that is not this VM's opens nothing.
	if _, err := (&secrets{gi: newFakeGuestInfo()}).target(ctx, cfg); err == nil || strings.Contains(err.Error(), testPassword) {
		t.Errorf("with another VM's key: %v", err)
	}
}
