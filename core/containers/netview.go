package containers

import (
	"net"
	"net/netip"

	"github.com/moby/moby/api/types/network"
)

// networkViews is NetworkSettings.Networks: the container's endpoints by network name, with their addresses
// while it runs (dockerd shows an endpoint's addresses only while the container is on the network's wire).
func networkViews(r *record) map[string]*network.EndpointSettings {
	out := map[string]*network.EndpointSettings{}
	asked := map[string]int{}
	for i, ep := range r.spec.Endpoints {
		if ep != nil && ep.Network != nil {
			asked[*ep.Network] = i
		}
	}
	running := r.running()
	for _, ep := range r.info.Endpoints {
		es := &network.EndpointSettings{}
		if i, ok := asked[ep.Network]; ok {
			a := r.spec.Endpoints[i]
			es.Aliases = append(es.Aliases, a.Aliases...)
			if ip, err := netip.ParseAddr(a.IP); err == nil {
				es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
			}
		}
		if hw, err := net.ParseMAC(ep.Mac); err == nil {
			es.MacAddress = network.HardwareAddr(hw)
		}
		if ep.NetworkName != "bridge" {
			es.DNSNames = append([]string{r.Name, shortID(r.ID)}, es.Aliases...)
		}
		if running {
			es.NetworkID, es.EndpointID = ep.Network, ep.ID
			if ip, err := netip.ParseAddr(ep.IP); err == nil {
				es.IPAddress, es.IPPrefixLen = ip, int(ep.PrefixLength)
			}
			if gw, err := netip.ParseAddr(ep.Gateway); err == nil {
				es.Gateway = gw
			}
		}
		name := ep.NetworkName
		if name == "" {
			name = ep.Network
		}
		out[name] = es
	}
	return out
}
