package containers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Networks finds networks by name or ID; *networks.Service implements it.
type Networks interface {
	Resolve(ctx context.Context, ref string) (*models.ScopeInfo, error)
	// ResolveForEndpoint is Resolve where only the network's ID, kind and whether it is predefined count.
	ResolveForEndpoint(ctx context.Context, ref string) (*models.ScopeInfo, error)
}

// WithNetworks sets where network names are resolved; without it a container can be on no network.
func WithNetworks(n Networks) Option { return func(s *Service) { s.networks = n } }

// Scope types of the port layer that take no endpoints.
const (
	scopeBridge = "bridge"
	scopeHost   = "host"
	scopeNull   = "null"
)

// endpoints turns Docker's network settings (the network mode, the endpoint configs and the links) into the spec's endpoints, the network mode's first. --network none is no endpoint;
// host and another container's network stack are refused: a containerVM has a network stack of its own.
func (s *Service) endpoints(ctx context.Context, host *container.HostConfig,
	nc *network.NetworkingConfig) ([]*models.Endpoint, error) {
	mode := string(host.NetworkMode)
	asked := mode // the key of the mode's settings, as the client named it
	switch {
	case mode == "" || mode == network.NetworkDefault:
		mode = network.NetworkBridge
	case strings.HasPrefix(mode, "container:"):
		return nil, fmt.Errorf("--network %s: a vice container is a VM with a network stack of its own, which other "+
			"containers cannot share: %w", mode, errdefs.ErrInvalid)
	}
	var settings map[string]*network.EndpointSettings
	if nc != nil {
		settings = nc.EndpointsConfig
	}
	primary := func(name string) bool {
		return name == mode || name == asked || (mode == network.NetworkBridge && name == network.NetworkDefault)
	}
	var others []string
	for name := range settings {
		if !primary(name) {
			others = append(others, name)
		}
	}
	if s.networks == nil {
		// A service made without networks (a test's) puts containers on none, unless asked for another.
		if mode == network.NetworkNone || (mode == network.NetworkBridge && len(others) == 0) {
			return nil, nil
		}
		return nil, fmt.Errorf("network %s: this endpoint serves no networks: %w", mode, errdefs.ErrNotImplemented)
	}
	sort.Strings(others)
	names := append([]string{mode}, others...)

	var out []*models.Endpoint
	for i, name := range names {
		n, err := s.networks.ResolveForEndpoint(ctx, name)
		if err != nil {
			return nil, err
		}
		switch n.Type {
		case scopeHost:
			return nil, fmt.Errorf("--network host: a vice container is a VM with a network stack of its own, and cannot "+
				"share the VCH's: %w", errdefs.ErrInvalid)
		case scopeNull:
			if len(names) > 1 {
				return nil, fmt.Errorf("container cannot be connected to multiple networks with one of the networks in "+
					"private (none) mode: %w", errdefs.ErrInvalid)
			}
			return nil, nil
		}
		es := settings[name]
		if i == 0 {
			for k, v := range settings {
				if primary(k) && v != nil {
					es = v
				}
			}
		}
		if es == nil {
			es = settings[n.ID]
		}
		ep, err := s.endpoint(ctx, n, es)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if err := s.addLinks(ctx, ep, host.Links); err != nil {
				return nil, err
			}
		}
		out = append(out, ep)
	}
	return out, nil
}

// endpoint is one network's endpoint from Docker's settings, with dockerd's refusals for the default bridge.
func (s *Service) endpoint(ctx context.Context, n *models.ScopeInfo, es *network.EndpointSettings) (*models.Endpoint, error) {
	id := n.ID
	ep := &models.Endpoint{Network: &id}
	if es == nil {
		return ep, nil
	}
	defaultBridge := n.Type == scopeBridge && n.Predefined
	if len(es.Aliases) > 0 {
		if defaultBridge {
			return nil, fmt.Errorf("network-scoped alias is supported only for containers in user defined networks: %w", errdefs.ErrInvalid)
		}
		ep.Aliases = append(ep.Aliases, es.Aliases...)
	}
	if c := es.IPAMConfig; c != nil && c.IPv4Address.IsValid() {
		if defaultBridge {
			return nil, fmt.Errorf("user specified IP address is supported on user defined networks only: %w", errdefs.ErrInvalid)
		}
		ep.IP = c.IPv4Address.String()
	}
	if c := es.IPAMConfig; c != nil && c.IPv6Address.IsValid() {
		return nil, fmt.Errorf("vice networks are IPv4 only; --ip6 %s cannot be given: %w", c.IPv6Address, errdefs.ErrInvalid)
	}
	if len(es.MacAddress) > 0 {
		ep.Mac = es.MacAddress.String()
	}
	if err := s.addLinks(ctx, ep, es.Links); err != nil {
		return nil, err
	}
	return ep, nil
}

// addLinks resolves Docker's links ("name", "name:alias", or dockerd's own "/name:/container/alias") into
// the endpoint's.
func (s *Service) addLinks(ctx context.Context, ep *models.Endpoint, links []string) error {
	for _, l := range links {
		name, alias, ok := strings.Cut(l, ":")
		name = strings.TrimPrefix(name, "/")
		if !ok {
			alias = name
		}
		if i := strings.LastIndex(alias, "/"); i >= 0 {
			alias = alias[i+1:]
		}
		if name == "" || alias == "" {
			return fmt.Errorf("invalid link %q: %w", l, errdefs.ErrInvalid)
		}
		target, err := s.resolve(ctx, name)
		if err != nil {
			if errdefs.Is(err, errdefs.ErrNotFound) {
				return fmt.Errorf("could not get container for %s: %w", name, errdefs.ErrInvalid)
			}
			return err
		}
		id := target.ID
		ep.Links = append(ep.Links, &models.Link{Container: &id, Alias: &alias})
	}
	return nil
}

// Connect is POST /networks/{id}/connect: the container joins the network, running or not (a running one
// gets a NIC hot-added, which VIC never did).
func (s *Service) Connect(ctx context.Context, netRef string, req network.ConnectRequest) error {
	if s.networks == nil {
		return fmt.Errorf("network %s: this endpoint serves no networks: %w", netRef, errdefs.ErrNotImplemented)
	}
	n, err := s.networks.Resolve(ctx, netRef)
	if err != nil {
		return err
	}
	r, err := s.resolve(ctx, req.Container)
	if err != nil {
		return err
	}
	switch n.Type {
	case scopeHost, scopeNull:
		return fmt.Errorf("container cannot be disconnected from host network or connected to host network: %w", errdefs.ErrForbidden)
	}
	for _, ep := range r.info.Endpoints {
		if ep.Network == n.ID {
			return fmt.Errorf("endpoint with name %s already exists in network %s: %w", r.Name, n.Name, errdefs.ErrForbidden)
		}
	}
	if len(r.spec.Endpoints) == 0 && r.HostConfig.NetworkMode == network.NetworkNone {
		return fmt.Errorf("container cannot be connected to multiple networks with one of the networks in private (none) mode: %w", errdefs.ErrForbidden)
	}
	ep, err := s.endpoint(ctx, n, req.EndpointConfig)
	if err != nil {
		return err
	}
	if _, err := s.pl.ConnectContainer(ctx, r.ID, ep); err != nil {
		return err
	}
	s.log.Info("container connected", "container", r.ID, "network", n.Name)
	return nil
}

// Disconnect is POST /networks/{id}/disconnect.
func (s *Service) Disconnect(ctx context.Context, netRef string, req network.DisconnectRequest) error {
	if s.networks == nil {
		return fmt.Errorf("network %s: this endpoint serves no networks: %w", netRef, errdefs.ErrNotImplemented)
	}
	n, err := s.networks.Resolve(ctx, netRef)
	if err != nil {
		return err
	}
	r, err := s.resolve(ctx, req.Container)
	if err != nil {
		return err
	}
	switch n.Type {
	case scopeHost, scopeNull:
		return fmt.Errorf("container cannot be disconnected from host network or connected to host network: %w", errdefs.ErrForbidden)
	}
	if _, err := s.pl.DisconnectContainer(ctx, r.ID, n.ID); err != nil {
		if errdefs.Is(err, errdefs.ErrNotFound) {
			return fmt.Errorf("container %s is not connected to network %s: %w", r.ID, n.Name, errdefs.ErrForbidden)
		}
		return err
	}
	s.log.Info("container disconnected", "container", r.ID, "network", n.Name)
	return nil
}
