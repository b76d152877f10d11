package vsphere

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// DefaultBridgeRange is VIC's --bridge-network-range: the bridge network and every user-defined one get a /16
// of it.
var DefaultBridgeRange = netip.MustParsePrefix("172.16.0.0/12")

// bridgeSubnetBits is the size of each network carved from the bridge range.
const bridgeSubnetBits = 16

// Firewall trust levels of a container network, VIC's.
const (
	TrustClosed    = "closed"
	TrustOutbound  = "outbound"
	TrustPeers     = "peers"
	TrustPublished = "published"
	TrustOpen      = "open"
)

// NetworkConfig is the VCH's network configuration (DESIGN §5a), as vice-machine made it.
type NetworkConfig struct {
	// BridgePortGroup is the port group of the bridge network and the user-defined networks; empty leaves
	// the VCH without them (containers can then be on container networks only).
	BridgePortGroup string
	// BridgeRange is where bridge networks' subnets are carved from, a /16 each; DefaultBridgeRange when zero.
	BridgeRange netip.Prefix
	// ContainerNetworks are port groups containers' NICs join directly.
	ContainerNetworks []ContainerNetwork
	// PublicAddress is the VCH's address on its public network, where ports are published; empty leaves
	// ports unpublished.
	PublicAddress string
	// NICNamespace is the path of the network namespace that holds the endpoint VM's NICs, when its own
	// processes run elsewhere (the hypervisor emulator's appliances); empty is the backend process's own.
	NICNamespace string
}

// ContainerNetwork is a port group containers join directly (--container-network), with what its DHCP-less
// network needs: a gateway and subnet, the range the VCH gives addresses from, name servers, and the
// firewall's trust level.
type ContainerNetwork struct {
	PortGroup string
	Alias     string       // the docker network's name
	Gateway   netip.Prefix // the gateway address with the subnet's length; zero: no addresses are given out
	IPRange   netip.Prefix // zero: the whole subnet
	DNS       []string
	Trust     string // TrustPublished when empty
}

// withDefaults checks the configuration and fills its defaults in.
func (n NetworkConfig) withDefaults() (NetworkConfig, error) {
	if !n.BridgeRange.IsValid() {
		n.BridgeRange = DefaultBridgeRange
	}
	n.BridgeRange = n.BridgeRange.Masked()
	if !n.BridgeRange.Addr().Is4() || n.BridgeRange.Bits() > bridgeSubnetBits {
		return n, fmt.Errorf("bridge network range %s: an IPv4 prefix of /%d or larger: %w", n.BridgeRange,
			bridgeSubnetBits, errdefs.ErrInvalid)
	}
	seen := map[string]bool{}
	out := make([]ContainerNetwork, 0, len(n.ContainerNetworks))
	for _, c := range n.ContainerNetworks {
		if c.PortGroup == "" {
			return n, fmt.Errorf("a container network needs a port group: %w", errdefs.ErrInvalid)
		}
		if c.Alias == "" {
			c.Alias = c.PortGroup
		}
		if seen[c.Alias] {
			return n, fmt.Errorf("container network %q given twice: %w", c.Alias, errdefs.ErrInvalid)
		}
		seen[c.Alias] = true
		switch c.Trust {
		case "":
			c.Trust = TrustPublished
		case TrustClosed, TrustOutbound, TrustPeers, TrustPublished, TrustOpen:
		default:
			return n, fmt.Errorf("container network %q: trust level %q (closed, outbound, peers, published, open): %w",
				c.Alias, c.Trust, errdefs.ErrInvalid)
		}
		if c.IPRange.IsValid() && (!c.Gateway.IsValid() || !c.Gateway.Masked().Contains(c.IPRange.Addr())) {
			return n, fmt.Errorf("container network %q: the range %s is outside the gateway's subnet %s: %w",
				c.Alias, c.IPRange, c.Gateway.Masked(), errdefs.ErrInvalid)
		}
		out = append(out, c)
	}
	n.ContainerNetworks = out
	return n, nil
}

// ParseContainerNetwork reads "portgroup:alias" (the alias defaults to the port group's name), as
// vice-machine's --container-network and the plugins' flag take it.
func ParseContainerNetwork(s string) ContainerNetwork {
	if i := strings.LastIndex(s, ":"); i >= 0 {
		return ContainerNetwork{PortGroup: strings.TrimSpace(s[:i]), Alias: strings.TrimSpace(s[i+1:])}
	}
	return ContainerNetwork{PortGroup: strings.TrimSpace(s), Alias: strings.TrimSpace(s)}
}
