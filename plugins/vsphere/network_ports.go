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
	if raw, ok, err := b.directPorts(ctx, c, asked); err != nil || ok {
		return raw, func(bool) {}, err
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
	stale := n.bound[id] // the last boot's, not withdrawn yet: this boot publishes its own
	delete(n.bound, id)
	n.mu.Unlock()
	for _, b := range stale {
		n.plane.Unpublish(b)
	}
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

// directPorts are the ports of a container on container networks alone: each is published on the
// container's own address there (its guest's firewall lets them in), with nothing to forward. ok is false
// for a container on a bridge network, whose ports the endpoint forwards.
func (b *Backend) directPorts(ctx context.Context, c *containerVM, asked []*models.PortBinding) (string, bool, error) {
	scopes, err := b.scopeMap(ctx)
	if err != nil {
		return "", false, err
	}
	eps := c.endpoints()
	if bridgeEndpoint(eps, scopes) != nil {
		return "", false, nil
	}
	ep := containerEndpoint(eps, scopes)
	if ep == nil {
		return "", false, fmt.Errorf("ports can be published only for a container on a bridge or container network: %w", errdefs.ErrInvalid)
	}
	var out []*models.PortBinding
	for _, p := range asked {
		if !isUnspecified(p.HostIP) && p.HostIP != ep.IP.String() {
			return "", false, fmt.Errorf("a port of a container on a container network is published on its address %s, not %s: %w",
				ep.IP, p.HostIP, errdefs.ErrInvalid)
		}
		if p.HostPort != 0 && p.HostPort != p.ContainerPort {
			return "", false, fmt.Errorf("a port of a container on a container network is published as it is (%d), not as %d: %w",
				p.ContainerPort, p.HostPort, errdefs.ErrInvalid)
		}
		out = append(out, &models.PortBinding{Protocol: orTCP(p.Protocol), ContainerPort: p.ContainerPort,
			HostIP: ep.IP.String(), HostPort: p.ContainerPort})
	}
	raw, _ := json.Marshal(out) // plain values always encode
	return string(raw), true, nil
}
