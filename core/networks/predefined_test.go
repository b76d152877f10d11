package networks_test

import (
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/networks"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

// listings counts the port layer's listings of the networks.
type listings struct {
	rt http.RoundTripper
	n  atomic.Int32
}

func (l *listings) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Path == "/v1/scopes" {
		l.n.Add(1)
	}
	return l.rt.RoundTrip(req)
}

// TestFixedNetworksForEndpoints: after a listing, Docker's fixed networks resolve for an endpoint without
// another one, to what Resolve says of them; any other name is listed again, and an unknown one is not found.
func TestFixedNetworksForEndpoints(t *testing.T) {
	ctx := t.Context()
	l := &listings{rt: plugintest.Shared(t).Transport}
	s := networks.New(portlayer.New(plugintest.Name, l))
	for _, name := range []string{"bridge", "host", "none"} {
		want, err := s.Resolve(ctx, name)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", name, err)
		}
		before := l.n.Load()
		got, err := s.ResolveForEndpoint(ctx, name)
		if err != nil || got.ID != want.ID || got.Type != want.Type || !got.Predefined || got.Name != name {
			t.Errorf("ResolveForEndpoint(%s) = %+v, %v; want ID %s, type %s, predefined", name, got, err, want.ID, want.Type)
		}
		if l.n.Load() != before {
			t.Errorf("ResolveForEndpoint(%s) listed the networks again", name)
		}
	}
	before := l.n.Load()
	if _, err := s.ResolveForEndpoint(ctx, "no-such-network"); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("ResolveForEndpoint of an unknown network: %v, want not found", err)
	}
	if l.n.Load() != before+1 {
		t.Errorf("an unknown name was resolved without a listing (%d listings)", l.n.Load()-before)
	}
}
