package appliance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A login is checked with vSphere once and then remembered for a while; a refused one is answered 401 after
// a pause, an unreachable vSphere 503; nothing is served without a login.
func TestPortalAuth(t *testing.T) {
	var calls atomic.Int32
	reachable := atomic.Bool{}
	reachable.Store(true)
	a := newPortalAuth(func(ctx context.Context, user, password string) error {
		calls.Add(1)
		if !reachable.Load() {
			return errors.New("dial tcp: connection refused")
		}
		return fakeVSphereLogin(ctx, user, password)
	}, slog.New(slog.DiscardHandler))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	srv := httptest.NewTLSServer(a.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "served") })))
	defer srv.Close()
	c := srv.Client()

	do := func(user, password string) (int, time.Duration) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if code, _ := do("", ""); code != http.StatusUnauthorized || calls.Load() != 0 {
		t.Errorf("no login: %d (%d vSphere logins)", code, calls.Load())
	}
	if code, took := do(portalUser, "wrong"); code != http.StatusUnauthorized || took < loginFailure {
		t.Errorf("a wrong password: %d after %v", code, took)
	}
	for range 3 {
		if code, _ := do(portalUser, testPassword); code != http.StatusOK {
			t.Fatalf("the right password: %d", code)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("%d vSphere logins for a refused and three good requests, want 2", calls.Load())
	}
	// A remembered login needs no vSphere; an expired one does, and an unreachable vSphere is no 401.
	reachable.Store(false)
	if code, _ := do(portalUser, testPassword); code != http.StatusOK {
		t.Errorf("a remembered login: %d", code)
	}
	now = now.Add(loginTTL)
	if code, _ := do(portalUser, testPassword); code != http.StatusServiceUnavailable {
		t.Errorf("an expired login with vSphere unreachable: %d", code)
	}
	if len(a.known) != 0 {
		t.Errorf("the expired login is still known: %d", len(a.known))
	}
}
