package networks

import (
	"net"
	"net/netip"
	"time"

	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// Driver is the network's driver as Docker names it: bridge, host, null, or external for a container
// network (VIC's name for a port group containers join directly).
func Driver(n *models.ScopeInfo) string {
	switch n.Type {
	case TypeContainer:
		return "external"
	case TypeNull:
		return "null"
	}
	return n.Type
}

// summary is the network as GET /networks lists it.
func summary(n *models.ScopeInfo) network.Network {
	created, _ := time.Parse(time.RFC3339Nano, n.Created)
	out := network.Network{
		Name: n.Name, ID: n.ID, Created: created, Scope: "local", Driver: Driver(n),
		EnableIPv4: n.Type == TypeBridge || n.Type == TypeContainer, Internal: n.Internal, Attachable: n.Attachable,
		IPAM:    network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
		Options: nonNilMap(n.Options), Labels: nonNilMap(n.Labels),
	}
	if n.Type == TypeHost || n.Type == TypeNull {
		out.IPAM.Config = nil
		out.IPAM.Options = nil
	}
	if sub, err := netip.ParsePrefix(n.Subnet); err == nil {
		c := network.IPAMConfig{Subnet: sub}
		if gw, err := netip.ParseAddr(n.Gateway); err == nil {
			c.Gateway = gw
		}
		if r, err := netip.ParsePrefix(n.IPRange); err == nil {
			c.IPRange = r
		}
		out.IPAM.Config = append(out.IPAM.Config, c)
	}
	return out
}

// inspect is the network as GET /networks/{id} shows it: with the containers on it.
func inspect(n *models.ScopeInfo, on []*onNetwork) network.Inspect {
	out := network.Inspect{Network: summary(n), Containers: map[string]network.EndpointResource{}}
	for _, o := range on {
		c, ep := o.container, o.endpoint
		r := network.EndpointResource{Name: *c.Name, EndpointID: ep.ID}
		if hw, err := net.ParseMAC(ep.Mac); err == nil {
			r.MacAddress = network.HardwareAddr(hw)
		}
		if ip, err := netip.ParseAddr(ep.IP); err == nil {
			r.IPv4Address = netip.PrefixFrom(ip, int(ep.PrefixLength))
		}
		out.Containers[*c.ID] = r
	}
	return out
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
