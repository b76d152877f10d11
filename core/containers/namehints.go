package containers

import (
	"context"
	"strings"
	"sync"
)

// nameHints remembers which container ID a name was last seen on, so resolving a name costs one read of
// that container rather than a listing of the whole VCH. It is only a hint: the container is read afresh
// and its name checked, and a miss falls back to the listing, so a rename or a removal elsewhere (another
// endpoint) is never believed.
type nameHints struct{ m sync.Map }

func (h *nameHints) remember(name, id string) { h.m.Store(strings.TrimPrefix(name, "/"), id) }

func (h *nameHints) forget(name string) { h.m.Delete(strings.TrimPrefix(name, "/")) }

// byHint finds the container named name through its hint, or returns nil.
func (s *Service) byHint(ctx context.Context, name string, shared bool) *record {
	name = strings.TrimPrefix(name, "/")
	id, ok := s.names.m.Load(name)
	if !ok {
		return nil
	}
	r, info, err := s.describe(ctx, id.(string), shared)
	if err != nil || info.Name == nil || strings.TrimPrefix(*info.Name, "/") != name {
		s.names.forget(name)
		return nil
	}
	return r
}
