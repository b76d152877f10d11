package vsphere

import (
	"fmt"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// netRuntime is the backend's in-process part of the networks: the endpoint's side of the bridge network
// (its addresses, the DNS it serves, the ports it forwards), rebuilt from vSphere's records on every start.
type netRuntime struct {
	public string // the VCH's public address, where ports are published
	plane  bool   // the endpoint has a NIC on the bridge network to serve DNS and forward ports from
}

// servesDNS says whether containers on bridge networks use the VCH's DNS on their gateway.
func (n *netRuntime) servesDNS() bool { return n.plane }

// canPublish says whether ports can be published.
func (n *netRuntime) canPublish() bool { return n.plane && n.public != "" }

// publishAddress is where a port asked on ip is published: the VCH's public address for an unspecified one,
// and that address only.
func (n *netRuntime) publishAddress(ip string) (string, error) {
	if isUnspecified(ip) || ip == n.public {
		return n.public, nil
	}
	return "", fmt.Errorf("ports are published on the VCH's address %s, not on %s: %w", n.public, ip, errdefs.ErrInvalid)
}

// scopesChanged tells the runtime the networks changed (a network made or removed).
func (n *netRuntime) scopesChanged() {}

// endpointsChanged tells the runtime a container joined or left a network.
func (n *netRuntime) endpointsChanged() {}
