package sdk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// clocked is a backend with a change clock and nothing else.
type clocked struct{ c *sdk.Changes }

func (clocked) Name() string                                      { return "clocked" }
func (clocked) Ping(ctx context.Context) error                    { return nil }
func (clocked) Info(ctx context.Context) (*models.VCHInfo, error) { return nil, nil }
func (b clocked) Changes() *sdk.Changes                           { return b.c }

// unclocked is a backend without one.
type unclocked struct{}

func (unclocked) Name() string                                      { return "unclocked" }
func (unclocked) Ping(ctx context.Context) error                    { return nil }
func (unclocked) Info(ctx context.Context) (*models.VCHInfo, error) { return nil, nil }

func serve(t *testing.T, b sdk.Backend) *httptest.Server {
	h, err := sdk.NewHandler(b)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func stampOf(t *testing.T, srv *httptest.Server, method, path string) (sdk.Stamp, bool) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+"/v1"+path, strings.NewReader("{}"))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return sdk.ParseStamp(resp.Header.Get(sdk.ChangesHeader))
}

func TestChangeClockStampsAndMoves(t *testing.T) {
	c := sdk.NewChanges()
	srv := serve(t, clocked{c})
	epoch, _ := c.Now()

	s, ok := stampOf(t, srv, http.MethodGet, "/ping")
	if !ok || s != (sdk.Stamp{Epoch: epoch}) {
		t.Fatalf("a GET with the clock standing at 0 is stamped %+v (%v)", s, ok)
	}
	// A request that is not a GET moves the clock before it is served and before its answer is written,
	// whatever it answers (this backend keeps no records: not implemented).
	s, ok = stampOf(t, srv, http.MethodPut, "/kv/k")
	if !ok || s.Start != 1 || s.End != 2 {
		t.Fatalf("a PUT is stamped %+v (%v), want 1 2", s, ok)
	}
	if _, seq := c.Now(); seq != 3 {
		t.Fatalf("after a PUT the clock is at %d, want 3", seq)
	}

	// The stream says where the clock is, then each move.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/changes", nil)
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /changes: %v %v", resp, err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() uint64 {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the stream ended: %v", lines.Err())
		}
		var v models.Changes
		if err := json.Unmarshal(lines.Bytes(), &v); err != nil || *v.Epoch != epoch {
			t.Fatalf("a line of the stream: %s (%v)", lines.Bytes(), err)
		}
		return *v.Seq
	}
	if got := next(); got != 3 {
		t.Fatalf("the stream opened at %d, want 3", got)
	}
	c.Bump()
	if got := next(); got != 4 {
		t.Fatalf("after a move the stream says %d, want 4", got)
	}
}

func TestNoChangeClock(t *testing.T) {
	srv := serve(t, unclocked{})
	if s, ok := stampOf(t, srv, http.MethodGet, "/ping"); ok {
		t.Fatalf("a backend without a clock stamped its answer %+v", s)
	}
	resp, err := srv.Client().Get(srv.URL + "/v1/changes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("GET /changes of a backend without a clock: %d, want 501", resp.StatusCode)
	}
}

func TestParseStamp(t *testing.T) {
	s := sdk.Stamp{Epoch: "ab12", Start: 3, End: 5}
	if got, ok := sdk.ParseStamp(s.String()); !ok || got != s {
		t.Fatalf("ParseStamp(%q) = %+v %v", s.String(), got, ok)
	}
	for _, bad := range []string{"", "ab12", "ab12 3", "ab12 5 3", "ab12 x 3", "ab12 1 2 3"} {
		if got, ok := sdk.ParseStamp(bad); ok {
			t.Errorf("ParseStamp(%q) = %+v, want none", bad, got)
		}
	}
}
