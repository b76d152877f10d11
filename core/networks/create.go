package networks

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Create is POST /networks/create: a bridge network on the VCH's bridge port group. Other drivers, IPv6,
// config-only networks and more than one IPAM configuration are refused; the subnet, range and gateway come
// from the IPAM configuration when it has one.
func (s *Service) Create(ctx context.Context, req network.CreateRequest) (network.CreateResponse, error) {
	if req.Name == "" {
		return network.CreateResponse{}, fmt.Errorf("network name cannot be empty: %w", errdefs.ErrInvalid)
	}
	switch req.Driver {
	case "", "bridge":
	default:
		return network.CreateResponse{}, fmt.Errorf("vice creates bridge networks only, not %q: its containers are VMs on "+
			"the VCH's bridge port group (container networks come from the VCH's configuration): %w", req.Driver, errdefs.ErrInvalid)
	}
	if req.Scope != "" && req.Scope != "local" {
		return network.CreateResponse{}, fmt.Errorf("vice networks are local, not %q: %w", req.Scope, errdefs.ErrInvalid)
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return network.CreateResponse{}, fmt.Errorf("vice networks are IPv4 only: %w", errdefs.ErrInvalid)
	}
	if req.EnableIPv4 != nil && !*req.EnableIPv4 {
		return network.CreateResponse{}, fmt.Errorf("vice networks are IPv4 networks: %w", errdefs.ErrInvalid)
	}
	if req.Ingress || req.ConfigOnly || req.ConfigFrom != nil && req.ConfigFrom.Network != "" {
		return network.CreateResponse{}, fmt.Errorf("ingress and config-only networks are swarm's, which vice does not have: %w", errdefs.ErrInvalid)
	}
	spec := &models.ScopeSpec{Name: &req.Name, Internal: req.Internal, Attachable: req.Attachable,
		Labels: req.Labels, Options: req.Options}
	if ipam := req.IPAM; ipam != nil {
		if ipam.Driver != "" && ipam.Driver != "default" {
			return network.CreateResponse{}, fmt.Errorf("IPAM driver %q: vice has the default one only: %w", ipam.Driver, errdefs.ErrInvalid)
		}
		switch len(ipam.Config) {
		case 0:
		case 1:
			c := ipam.Config[0]
			if c.Subnet.IsValid() {
				spec.Subnet = c.Subnet.String()
			}
			if c.IPRange.IsValid() {
				spec.IPRange = c.IPRange.String()
			}
			if c.Gateway.IsValid() {
				spec.Gateway = c.Gateway.String()
			}
			if len(c.AuxAddress) > 0 {
				return network.CreateResponse{}, fmt.Errorf("auxiliary addresses are not supported: %w", errdefs.ErrInvalid)
			}
			if c.Subnet.IsValid() && !c.Subnet.Addr().Is4() {
				return network.CreateResponse{}, fmt.Errorf("vice networks are IPv4 only: %w", errdefs.ErrInvalid)
			}
		default:
			return network.CreateResponse{}, fmt.Errorf("a vice network has one subnet, not %d: %w", len(ipam.Config), errdefs.ErrInvalid)
		}
	}
	n, err := s.pl.CreateScope(ctx, spec)
	if err != nil {
		return network.CreateResponse{}, err
	}
	s.log.Info("network created", "network", n.ID, "name", n.Name, "subnet", n.Subnet)
	return network.CreateResponse{ID: n.ID, Warning: ""}, nil
}
