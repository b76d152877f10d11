package wire

// The containerVM's networks. ContainerConfig.Networks says which NICs the guest has and how each is
// configured; the guest finds a NIC by its MAC address (the VM's hardware names it, not an order). A NIC may
// appear after boot (a network connected to a running container is a hot-added NIC): the guest configures it
// when it does, and forgets one that is gone.
const (
	// RequestNetwork is a global request the VCH sends after it changed a running container's networks
	// (NICs hot-added or removed, ContainerConfig.Networks rewritten in guestinfo). The guest re-reads its
	// configuration, configures what is new and removes what is gone, then replies: true once every NIC of
	// the configuration is configured, false (with a ReplyError) when one could not be, for example because
	// its NIC never appeared. No payload.
	RequestNetwork = "network@vice"
)

// NetworkEndpoint is one NIC of the containerVM as its guest configures it.
type NetworkEndpoint struct {
	// Network is the network's name, for the guest's logs.
	Network string `json:"network"`
	// MAC is the NIC's hardware address (lowercase, colon-separated), which finds the interface.
	MAC string `json:"mac"`
	// Address is the interface's IPv4 address with the subnet's prefix length ("172.16.0.2/16"); empty leaves
	// the interface up without an address.
	Address string `json:"address,omitempty"`
	// Gateway is the network's gateway. The default route goes through the gateway of the first endpoint
	// marked DefaultRoute.
	Gateway      string `json:"gateway,omitempty"`
	DefaultRoute bool   `json:"defaultRoute,omitempty"`
	// Firewall is the trust level of the NIC's network, as VIC's container networks had it: "closed" (no
	// traffic), "outbound" (connections the container makes, and their answers), "peers" (traffic with the
	// network's own subnet only), "published" (connections to the Published ports, and their answers) or
	// "open"; empty is open.
	Firewall  string   `json:"firewall,omitempty"`
	Published []string `json:"published,omitempty"` // "80/tcp", "53/udp": the container's published ports
}

// Firewall trust levels of NetworkEndpoint.Firewall.
const (
	TrustClosed    = "closed"
	TrustOutbound  = "outbound"
	TrustPeers     = "peers"
	TrustPublished = "published"
	TrustOpen      = "open"
)
