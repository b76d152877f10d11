package vsphere

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/dataplane"
)

// netResync is how often the runtime reconciles with the inventory even when nothing told it to.
const netResync = 30 * time.Second

// netRuntime is the backend's in-process part of the networks: the endpoint's side of the bridge network
// (its addresses, the DNS it serves, the ports it forwards), rebuilt from vSphere's records on every start
// and kept in step with them.
type netRuntime struct {
	b      *Backend
	log    *slog.Logger
	public string           // the VCH's public address, where ports are published
	plane  *dataplane.Plane // nil: the endpoint has no NIC on the bridge network to serve from

	kickc  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	refreshMu sync.Mutex // one inventory read for DNS misses at a time
	mu        sync.Mutex
	table     *dnsTable
	bound     map[string][]dataplane.Binding // container ID -> the ports this process publishes for it
	starting  map[string]int                 // containers whose start publishes their ports now
}

// servesDNS says whether containers on bridge networks use the VCH's DNS on their gateway.
func (n *netRuntime) servesDNS() bool { return n.plane != nil }

// canPublish says whether ports can be published.
func (n *netRuntime) canPublish() bool { return n.plane != nil && n.public != "" }

// publishAddress is where a port asked on ip is published: the VCH's public address for an unspecified one,
// and that address only.
func (n *netRuntime) publishAddress(ip string) (string, error) {
	if isUnspecified(ip) || ip == n.public {
		return n.public, nil
	}
	return "", fmt.Errorf("ports are published on the VCH's address %s, not on %s: %w", n.public, ip, errdefs.ErrInvalid)
}

// scopesChanged tells the runtime the networks changed (a network made or removed).
func (n *netRuntime) scopesChanged() { n.kick() }

// endpointsChanged tells the runtime a container joined or left a network.
func (n *netRuntime) endpointsChanged() { n.kick() }

// kick asks the loop to reconcile soon.
func (n *netRuntime) kick() {
	if n.kickc == nil {
		return
	}
	select {
	case n.kickc <- struct{}{}:
	default:
	}
}

// startNetworks opens the data plane on the endpoint VM's NIC on the bridge network, when the VCH has one
// (a backend running outside its endpoint VM serves no DNS and publishes no ports), and keeps it in step.
func (b *Backend) startNetworks(ctx context.Context) {
	n := &b.net
	n.b, n.log = b, b.log.With("component", "networks")
	n.public = b.cfg.Networks.PublicAddress
	n.bound, n.starting = map[string][]dataplane.Binding{}, map[string]int{}
	n.table = &dnsTable{}
	if b.cfg.Networks.BridgePortGroup == "" {
		return
	}
	mac, err := b.endpointNIC(ctx, b.cfg.Networks.BridgePortGroup)
	if err != nil {
		n.log.Warn("the endpoint VM's NIC on the bridge network", "err", err)
		return
	}
	if mac == "" {
		n.log.Info("no endpoint VM with a NIC on the bridge network: containers get no DNS from the VCH and no published ports",
			"bridgeNetwork", b.cfg.Networks.BridgePortGroup)
		return
	}
	plane, err := dataplane.Open(b.cfg.Networks.NICNamespace, mac, n, n.log)
	if err != nil {
		n.log.Error("the endpoint's side of the bridge network", "err", err)
		return
	}
	n.plane = plane
	n.sync(ctx)
	lctx, cancel := context.WithCancel(context.Background())
	n.kickc, n.cancel, n.done = make(chan struct{}, 1), cancel, make(chan struct{})
	go n.loop(lctx)
}

// stopNetworks stops serving. The NIC keeps its addresses for the next endpoint.
func (b *Backend) stopNetworks() {
	n := &b.net
	if n.cancel != nil {
		n.cancel()
		<-n.done
	}
	if n.plane != nil {
		n.plane.Close()
	}
}

func (n *netRuntime) loop(ctx context.Context) {
	defer close(n.done)
	t := time.NewTicker(netResync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kickc:
		case <-t.C:
		}
		n.sync(ctx)
	}
}

// sync reconciles the data plane with the inventory: the gateways of the bridge networks, the DNS names of
// the running containers, the ports of the running ones published and the others' withdrawn.
func (n *netRuntime) sync(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	scopes, err := n.b.allScopes(ctx)
	if err != nil {
		n.log.Warn("networks: read the networks", "err", err)
		return
	}
	var gws []netip.Prefix
	var subnets []dataplane.Subnet
	byID := map[string]*scope{}
	for _, s := range scopes {
		byID[s.ID] = s
		if s.Type == scopeBridge && s.Gateway.IsValid() && s.Subnet.IsValid() {
			gws = append(gws, netip.PrefixFrom(s.Gateway, s.Subnet.Bits()))
			subnets = append(subnets, dataplane.Subnet{Prefix: s.Subnet, Internal: s.Internal})
		}
	}
	if err := n.plane.SetGateways(gws, subnets); err != nil {
		n.log.Warn("networks: the gateways", "err", err)
	}
	read := time.Now()
	all, err := n.b.containerVMs(ctx)
	if err != nil {
		n.log.Warn("networks: read the containers", "err", err)
		return
	}
	n.setTable(buildDNSTable(all, byID, read))
	n.syncPorts(all, byID)
}
