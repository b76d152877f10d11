package networks

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Scope types of the port layer.
const (
	TypeBridge    = "bridge"
	TypeContainer = "container"
	TypeHost      = "host"
	TypeNull      = "null"
)

// Service is the network service of one VCH. It keeps nothing but the fixed networks' IDs for a while
// (predefined.go): the backend's scopes are the record.
type Service struct {
	pl         *portlayer.Client
	log        *slog.Logger
	pruning    atomic.Bool
	predefined predefinedScopes
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns the network service over pl.
func New(pl *portlayer.Client, opts ...Option) *Service {
	s := &Service{pl: pl, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Resolve finds the network ref names, in dockerd's order: the full ID, then the exact name, then a unique
// ID prefix. Anything else is dockerd's "network ... not found".
func (s *Service) Resolve(ctx context.Context, ref string) (*models.ScopeInfo, error) {
	all, err := s.pl.ListScopes(ctx)
	if err != nil {
		return nil, err
	}
	s.predefined.note(all)
	return resolveIn(all, ref)
}

func resolveIn(all []*models.ScopeInfo, ref string) (*models.ScopeInfo, error) {
	if ref == "" {
		return nil, notFound(ref)
	}
	for _, n := range all {
		if n.ID == ref {
			return n, nil
		}
	}
	var named []*models.ScopeInfo
	for _, n := range all {
		if n.Name == ref {
			named = append(named, n)
		}
	}
	if len(named) == 1 {
		return named[0], nil
	}
	var prefixed []*models.ScopeInfo
	for _, n := range all {
		if strings.HasPrefix(n.ID, ref) {
			prefixed = append(prefixed, n)
		}
	}
	switch len(prefixed) {
	case 0:
		return nil, notFound(ref)
	case 1:
		return prefixed[0], nil
	}
	return nil, fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix): %w", ref, len(prefixed), errdefs.ErrInvalid)
}

func notFound(ref string) error {
	return fmt.Errorf("network %s not found: %w", ref, errdefs.ErrNotFound)
}

// containersOn lists, by network ID, the containers on each network.
func (s *Service) containersOn(ctx context.Context) (map[string][]*onNetwork, error) {
	list, err := s.pl.ListContainers(ctx, sdk.ListFilter{})
	if err != nil {
		return nil, err
	}
	out := map[string][]*onNetwork{}
	for _, c := range list {
		for _, ep := range c.Endpoints {
			out[ep.Network] = append(out[ep.Network], &onNetwork{container: c, endpoint: ep})
		}
	}
	return out, nil
}

// onNetwork is one container's endpoint on a network.
type onNetwork struct {
	container *models.ContainerInfo
	endpoint  *models.EndpointInfo
}
