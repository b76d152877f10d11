package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/dataplane"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// bindPorts publishes the ports container c asks for, before it starts: each on the VCH's public address,
// forwarded to the container's address on its first bridge network; a host port of 0 gets a free one. It
// returns the bindings as published (for keyPortsBound) and finish, which the start calls once over: with
// false, the ports are withdrawn. A port taken is Docker's "port is already allocated".
func (b *Backend) bindPorts(ctx context.Context, c *containerVM) (bound string, finish func(ok bool), err error) {
	asked := decodePorts(c.extra[keyPorts])
	n := &b.net
	if len(asked) == 0 {
		return "", func(bool) {}, nil
	}
	if !n.canPublish() {
		return "", nil, fmt.Errorf("published ports: this VCH's endpoint has no NIC on its bridge network to forward them: %w",
			errdefs.ErrNotImplemented)
	}
	scopes, err := b.scopeMap(ctx)
	if err != nil {
		return "", nil, err
	}
	eps := c.endpoints()
	ep := bridgeEndpoint(eps, scopes)
	if ep == nil {
		return "", nil, fmt.Errorf("ports can be published only for a container on a bridge network: %w", errdefs.ErrInvalid)
	}
	id := c.id()
	n.mu.Lock()
	n.starting[id]++
	n.mu.Unlock()
	var done []dataplane.Binding
	finish = func(ok bool) {
		if !ok {
			for _, d := range done {
				n.plane.Unpublish(d)
			}
			n.mu.Lock()
			delete(n.bound, id)
			n.mu.Unlock()
		}
		n.startDone(id)
	}
	undo := func() { finish(false) }
	var out []*models.PortBinding
	for _, p := range asked {
		host, err := n.publishAddress(p.HostIP)
		if err != nil {
			undo()
			return "", nil, err
		}
		hb := dataplane.Binding{Proto: orTCP(p.Protocol),
			Host:   netip.AddrPortFrom(netip.MustParseAddr(host), uint16(p.HostPort)),
			Target: netip.AddrPortFrom(ep.IP, uint16(p.ContainerPort))}
		bound, err := n.plane.Publish(hb)
		if err != nil {
			undo()
			if errors.Is(err, dataplane.ErrPortAllocated) {
				return "", nil, fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %w: %w",
					c.name(), ep.ID, err, errdefs.ErrConflict)
			}
			return "", nil, fmt.Errorf("publish port %d: %w", p.ContainerPort, err)
		}
		done = append(done, bound)
		out = append(out, &models.PortBinding{Protocol: bound.Proto, ContainerPort: p.ContainerPort,
			HostIP: bound.Host.Addr().String(), HostPort: int64(bound.Host.Port())})
	}
	n.mu.Lock()
	n.bound[id] = done
	n.mu.Unlock()
	raw, _ := json.Marshal(out) // plain values always encode
	return string(raw), finish, nil
}

// startDone says a container's start is over: the loop takes its ports in hand from now on.
func (n *netRuntime) startDone(id string) {
	n.mu.Lock()
	if n.starting[id]--; n.starting[id] <= 0 {
		delete(n.starting, id)
	}
	n.mu.Unlock()
	n.kick()
}

// syncPorts publishes the ports of the running containers (after an endpoint restart, as their records say)
// and withdraws those of containers that no longer run.
func (n *netRuntime) syncPorts(all []*containerVM, scopes map[string]*scope) {
	if !n.canPublish() {
		return
	}
	running := map[string]bool{}
	for _, c := range all {
		id := c.id()
		n.mu.Lock()
		busy := n.starting[id] > 0
		_, have := n.bound[id]
		n.mu.Unlock()
		if busy || !c.state().Running {
			continue
		}
		running[id] = true
		if have {
			continue
		}
		ep := bridgeEndpoint(c.endpoints(), scopes)
		if ep == nil {
			continue
		}
		var list []dataplane.Binding
		for _, p := range c.boundPorts() {
			addr, err := netip.ParseAddr(p.HostIP)
			if err != nil || p.HostPort == 0 {
				continue
			}
			b := dataplane.Binding{Proto: orTCP(p.Protocol), Host: netip.AddrPortFrom(addr, uint16(p.HostPort)),
				Target: netip.AddrPortFrom(ep.IP, uint16(p.ContainerPort))}
			bound, err := n.plane.Publish(b)
			if err != nil {
				n.log.Warn("republish a running container's port", "container", id, "binding", b.String(), "err", err)
				continue
			}
			list = append(list, bound)
		}
		n.mu.Lock()
		n.bound[id] = list
		n.mu.Unlock()
	}
	n.mu.Lock()
	var gone [][]dataplane.Binding
	for id, list := range n.bound {
		if !running[id] && n.starting[id] == 0 {
			gone = append(gone, list)
			delete(n.bound, id)
		}
	}
	n.mu.Unlock()
	for _, list := range gone {
		for _, b := range list {
			n.plane.Unpublish(b)
		}
	}
}

func orTCP(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}
