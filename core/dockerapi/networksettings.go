package dockerapi

import (
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// legacyNetwork is the network settings dockerd kept beside Networks until API 1.52: the endpoint on the
// default bridge network, flat (empty for a container not on it, as in dockerd).
type legacyNetwork struct {
	Bridge                 string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	SecondaryIPAddresses   []any // always null: vice gives no endpoint secondary addresses
	SecondaryIPv6Addresses []any // always null: vice gives no endpoint secondary addresses
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
}

func newLegacyNetwork(resp container.InspectResponse) legacyNetwork {
	var l legacyNetwork
	ns := resp.NetworkSettings
	if ns == nil {
		return l
	}
	ep := ns.Networks[network.NetworkBridge]
	if ep == nil {
		return l
	}
	l.EndpointID = ep.EndpointID
	if ep.Gateway.IsValid() {
		l.Gateway = ep.Gateway.String()
	}
	if ep.IPAddress.IsValid() {
		l.IPAddress, l.IPPrefixLen = ep.IPAddress.String(), ep.IPPrefixLen
		l.MacAddress = ep.MacAddress.String()
	}
	return l
}

// legacyNetworkFields are legacyNetwork as a map, for the flat settings of API 1.20 and older.
func legacyNetworkFields(resp container.InspectResponse) map[string]any {
	m, err := asMap(newLegacyNetwork(resp))
	if err != nil {
		panic(err) // strings, numbers and nil slices always encode
	}
	return m
}

// inspectWithLegacy is an inspect response whose NetworkSettings carry legacyNetwork beside Networks (its
// NetworkSettings field hides the embedded response's): encoded in one pass, with no map in between.
type inspectWithLegacy struct {
	container.InspectResponse
	NetworkSettings legacyNetworkSettings
}

type legacyNetworkSettings struct {
	*container.NetworkSettings // nil: none of its fields, as dockerd shows a container without settings
	legacyNetwork
}

// withLegacyNetworkFields adds legacyNetwork to the NetworkSettings of an inspect response.
func withLegacyNetworkFields(resp container.InspectResponse) inspectWithLegacy {
	return inspectWithLegacy{InspectResponse: resp,
		NetworkSettings: legacyNetworkSettings{NetworkSettings: resp.NetworkSettings, legacyNetwork: newLegacyNetwork(resp)}}
}
