package networks

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// predefinedKept is how long a listing's description of Docker's fixed networks answers ResolveForEndpoint.
const predefinedKept = 30 * time.Second

// predefinedScopes keeps the last listing's bridge, host and none networks.
type predefinedScopes struct {
	mu     sync.Mutex
	at     time.Time
	byName map[string]models.ScopeInfo
}

// fixedName says whether ref names one of Docker's fixed networks, which no one can make, rename or remove.
func fixedName(ref string) bool {
	return ref == network.NetworkBridge || ref == network.NetworkHost || ref == network.NetworkNone
}

// note keeps the fixed networks of a listing of every network.
func (p *predefinedScopes) note(all []*models.ScopeInfo) {
	byName := map[string]models.ScopeInfo{}
	for _, n := range all {
		if n.Predefined && fixedName(n.Name) {
			byName[n.Name] = models.ScopeInfo{ID: n.ID, Name: n.Name, Type: n.Type, Predefined: true}
		}
	}
	p.mu.Lock()
	p.at, p.byName = time.Now(), byName
	p.mu.Unlock()
}

// get is the kept description of the fixed network name, if a listing within predefinedKept had it.
func (p *predefinedScopes) get(name string) (*models.ScopeInfo, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.byName[name]
	if !ok || time.Since(p.at) > predefinedKept {
		return nil, false
	}
	return &n, true
}

// ResolveForEndpoint is Resolve for a container's endpoint, which needs a network's ID and kind only. Those of
// Docker's fixed networks (bridge, host, none) change only when the VCH is reconfigured, which restarts its
// plugin: they are taken from a listing of the last predefinedKept rather than listed again for every
// container made. Every other name is resolved as Resolve does.
func (s *Service) ResolveForEndpoint(ctx context.Context, ref string) (*models.ScopeInfo, error) {
	if fixedName(ref) {
		if n, ok := s.predefined.get(ref); ok {
			return n, nil
		}
	}
	return s.Resolve(ctx, ref)
}
