package vsphere

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// scopeLoadTimeout bounds the KV read that loads the networks for a description that has no context.
const scopeLoadTimeout = 30 * time.Second

// scopeMap is every network by ID.
func (b *Backend) scopeMap(ctx context.Context) (map[string]*scope, error) {
	all, err := b.allScopes(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*scope, len(all))
	for _, s := range all {
		m[s.ID] = s
	}
	return m, nil
}

// knownScopes is every network by ID for descriptions, which carry no context: loaded on first use, and
// empty (the endpoints then show no network names) when the store cannot be read.
func (b *Backend) knownScopes() map[string]*scope {
	ctx, cancel := context.WithTimeout(context.Background(), scopeLoadTimeout)
	defer cancel()
	m, err := b.scopeMap(ctx)
	if err != nil {
		b.log.Warn("the networks could not be read", "err", err)
	}
	return m
}

// nicBacking is how a NIC joins port group pg: a standard port group or a distributed one, found in the
// VCH's datacenter.
func (b *Backend) nicBacking(ctx context.Context, pg string) (types.BaseVirtualDeviceBackingInfo, error) {
	if v, ok := b.nicBackings.Load(pg); ok {
		return v.(types.BaseVirtualDeviceBackingInfo), nil
	}
	f := find.NewFinder(b.sess.client, false).SetDatacenter(b.where.datacenter)
	n, err := f.Network(ctx, pg)
	if err != nil {
		return nil, fmt.Errorf("port group %q: %w", pg, classify(err, "find network "+pg))
	}
	backing, err := n.EthernetCardBackingInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("port group %q: %w", pg, classify(err, "NIC backing of "+pg))
	}
	b.nicBackings.Store(pg, backing)
	return backing, nil
}

// checkPorts refuses port bindings the VCH cannot publish: a bad protocol or port, an address that is not
// the VCH's, a container without a bridge network to forward to, or a VCH whose endpoint cannot forward.
func (b *Backend) checkPorts(ports []*models.PortBinding, eps []endpointRecord, scopes map[string]*scope) error {
	if len(ports) == 0 {
		return nil
	}
	for _, p := range ports {
		if p == nil {
			return fmt.Errorf("an empty port binding: %w", errdefs.ErrInvalid)
		}
		switch p.Protocol {
		case "", "tcp", "udp":
		default:
			return fmt.Errorf("invalid proto: %s: %w", p.Protocol, errdefs.ErrInvalid)
		}
		if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
			return fmt.Errorf("invalid port binding %d:%d: %w", p.HostPort, p.ContainerPort, errdefs.ErrInvalid)
		}
	}
	if bridgeEndpoint(eps, scopes) == nil {
		// On a container network a port is published on the container's own address there.
		if containerEndpoint(eps, scopes) == nil {
			return fmt.Errorf("ports can be published only for a container on a bridge or container network: %w", errdefs.ErrInvalid)
		}
		return nil
	}
	for _, p := range ports {
		if _, err := b.net.publishAddress(p.HostIP); err != nil {
			return err
		}
	}
	if !b.net.canPublish() {
		return fmt.Errorf("published ports: this VCH's endpoint has no NIC on its bridge network to forward them: %w",
			errdefs.ErrNotImplemented)
	}
	return nil
}

// bridgeEndpoint is the container's endpoint its published ports forward to: its first on a bridge network
// that gives it an address.
func bridgeEndpoint(eps []endpointRecord, scopes map[string]*scope) *endpointRecord {
	for i, ep := range eps {
		if s := scopes[ep.Network]; s != nil && s.Type == scopeBridge && ep.IP.IsValid() {
			return &eps[i]
		}
	}
	return nil
}

// containerEndpoint is the container's first endpoint on a container network that gives it an address.
func containerEndpoint(eps []endpointRecord, scopes map[string]*scope) *endpointRecord {
	for i, ep := range eps {
		if s := scopes[ep.Network]; s != nil && s.Type == scopeContainer && ep.IP.IsValid() {
			return &eps[i]
		}
	}
	return nil
}

// isUnspecified says whether a host address asks for the VCH's public address (empty, 0.0.0.0 or ::).
func isUnspecified(ip string) bool {
	if ip == "" {
		return true
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && a.IsUnspecified()
}
