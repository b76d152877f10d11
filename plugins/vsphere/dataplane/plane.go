package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
)

// Plane is the endpoint's side of the bridge network.
type Plane struct {
	log      *slog.Logger
	ns       *Namespace
	leg      *leg
	resolver Resolver

	mu     sync.Mutex
	dns    map[netip.Addr]*dnsServer
	fwd    map[bindingKey]*published
	closed bool
}

// bindingKey is what two published ports cannot share.
type bindingKey struct {
	proto string
	host  netip.AddrPort
}

type published struct {
	b Binding
	f forwarder
}

// Open finds the endpoint's NIC with MAC mac in the namespace at nsPath (the process's own when empty) and
// sets it up; r answers the DNS queries.
func Open(nsPath, mac string, r Resolver, log *slog.Logger) (*Plane, error) {
	ns, err := OpenNamespace(nsPath)
	if err != nil {
		return nil, err
	}
	l, err := findLeg(ns, mac)
	if err != nil {
		ns.Close()
		return nil, err
	}
	log.Info("the endpoint's NIC on the bridge network", "interface", l.name, "mac", mac, "namespace", nsPath)
	return &Plane{log: log, ns: ns, leg: l, resolver: r, dns: map[netip.Addr]*dnsServer{}, fwd: map[bindingKey]*published{}}, nil
}

// Namespace is the namespace of the endpoint's NICs.
func (p *Plane) Namespace() *Namespace { return p.ns }

// SetGateways gives the NIC exactly the addresses gws (each bridge network's gateway with its subnet's
// length), serves DNS on each, and forwards what leaves the networks as their Internal flags allow.
func (p *Plane) SetGateways(gws []netip.Prefix, subnets []Subnet) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("the data plane is closed")
	}
	if err := p.leg.setAddresses(gws); err != nil {
		return err
	}
	if err := p.setPolicy(subnets); err != nil {
		p.log.Warn("the bridge networks reach nothing beyond the endpoint", "err", err)
	}
	want := map[netip.Addr]bool{}
	for _, g := range gws {
		want[g.Addr()] = true
	}
	for a, s := range p.dns {
		if !want[a] {
			s.close()
			delete(p.dns, a)
		}
	}
	var errs []error
	for a := range want {
		if p.dns[a] != nil {
			continue
		}
		s, err := serveDNS(p.ns, a, p.resolver, p.log)
		if err != nil {
			errs = append(errs, fmt.Errorf("DNS on %s: %w", a, err))
			continue
		}
		p.dns[a] = s
	}
	return errors.Join(errs...)
}

// Publish starts forwarding b and returns it as bound (with the port picked for a port of 0). A binding
// published already is left as it is; a port another binding has is ErrPortAllocated.
func (p *Plane) Publish(b Binding) (Binding, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return b, errors.New("the data plane is closed")
	}
	if b.Host.Port() != 0 {
		if cur := p.fwd[bindingKey{b.Proto, b.Host}]; cur != nil {
			if cur.b.Target == b.Target {
				return cur.b, nil
			}
			return b, fmt.Errorf("Bind for %s failed: %w", b.Host, ErrPortAllocated)
		}
	}
	f, err := publish(b, p.ns, p.log)
	if err != nil {
		return b, err
	}
	b.Host = netip.AddrPortFrom(b.Host.Addr(), f.bound().Port())
	p.fwd[bindingKey{b.Proto, b.Host}] = &published{b: b, f: f}
	p.log.Info("port published", "binding", b.String())
	return b, nil
}

// Unpublish stops forwarding b's port.
func (p *Plane) Unpublish(b Binding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := bindingKey{b.Proto, b.Host}
	if cur := p.fwd[k]; cur != nil && cur.b.Target == b.Target {
		cur.f.close()
		delete(p.fwd, k)
		p.log.Info("port unpublished", "binding", b.String())
	}
}

// Published lists the ports published now.
func (p *Plane) Published() []Binding {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Binding, 0, len(p.fwd))
	for _, pb := range p.fwd {
		out = append(out, pb.b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Close stops serving DNS and forwarding ports. The NIC keeps its addresses, which the next endpoint
// takes over.
func (p *Plane) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for a, s := range p.dns {
		s.close()
		delete(p.dns, a)
	}
	for k, pb := range p.fwd {
		pb.f.close()
		delete(p.fwd, k)
	}
	p.leg.close()
	p.ns.Close()
}
