package dockerapi

import (
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// legacyNetworkFields are the network settings dockerd kept beside Networks until API 1.52: the endpoint on
// the default bridge network, flat (empty for a container not on it, as in dockerd).
func legacyNetworkFields(resp container.InspectResponse) map[string]any {
	m := map[string]any{
		"Bridge": "", "HairpinMode": false, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
		"SecondaryIPAddresses": nil, "SecondaryIPv6Addresses": nil, "EndpointID": "", "Gateway": "",
		"GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
		"MacAddress": "",
	}
	ns := resp.NetworkSettings
	if ns == nil {
		return m
	}
	ep := ns.Networks[network.NetworkBridge]
	if ep == nil {
		return m
	}
	m["EndpointID"] = ep.EndpointID
	if ep.Gateway.IsValid() {
		m["Gateway"] = ep.Gateway.String()
	}
	if ep.IPAddress.IsValid() {
		m["IPAddress"], m["IPPrefixLen"] = ep.IPAddress.String(), ep.IPPrefixLen
		m["MacAddress"] = ep.MacAddress.String()
	}
	return m
}

// withLegacyNetworkFields adds legacyNetworkFields to the NetworkSettings of an inspect response.
func withLegacyNetworkFields(resp container.InspectResponse) (map[string]any, error) {
	m, err := asMap(resp)
	if err != nil {
		return nil, err
	}
	ns, _ := m["NetworkSettings"].(map[string]any)
	if ns == nil {
		ns = map[string]any{}
		m["NetworkSettings"] = ns
	}
	for k, v := range legacyNetworkFields(resp) {
		ns[k] = v
	}
	return m, nil
}
