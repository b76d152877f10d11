package vsphere

import (
	"fmt"
	"net/netip"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// planSubnet gives a new network its subnet, gateway and range: the ones asked for, checked against the
// other networks', or the next /16 of the bridge range that no network overlaps. Called with the scopes'
// lock held.
func (b *Backend) planSubnet(s *scope, spec *models.ScopeSpec) error {
	var taken []netip.Prefix
	for _, o := range b.scopes.byID {
		if o.Subnet.IsValid() {
			taken = append(taken, o.Subnet)
		}
	}
	overlaps := func(p netip.Prefix) bool {
		for _, t := range taken {
			if t.Overlaps(p) {
				return true
			}
		}
		return false
	}
	if spec.Subnet != "" {
		p, err := netip.ParsePrefix(spec.Subnet)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("invalid subnet %s: an IPv4 CIDR is needed: %w", spec.Subnet, errdefs.ErrInvalid)
		}
		if p != p.Masked() {
			return fmt.Errorf("invalid subnet %s: it should be %s: %w", spec.Subnet, p.Masked(), errdefs.ErrInvalid)
		}
		if p.Bits() > 30 {
			return fmt.Errorf("invalid subnet %s: too small for a gateway and a container: %w", p, errdefs.ErrInvalid)
		}
		if overlaps(p) {
			return fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space: %w", errdefs.ErrForbidden)
		}
		s.Subnet = p
	} else {
		if spec.Gateway != "" || spec.IPRange != "" {
			return fmt.Errorf("a gateway or an IP range needs a subnet (--subnet): %w", errdefs.ErrInvalid)
		}
		r := b.cfg.Networks.BridgeRange
		for a := r.Addr(); r.Contains(a); a = nextSubnet(a, bridgeSubnetBits) {
			if p := netip.PrefixFrom(a, bridgeSubnetBits); !overlaps(p) {
				s.Subnet = p
				break
			}
		}
		if !s.Subnet.IsValid() {
			return fmt.Errorf("could not find an available, non-overlapping IPv4 address pool among the defaults "+
				"to assign to the network (the bridge network range %s is used up): %w", r, errdefs.ErrForbidden)
		}
	}
	if spec.IPRange != "" {
		p, err := netip.ParsePrefix(spec.IPRange)
		if err != nil || !p.Addr().Is4() || p != p.Masked() {
			return fmt.Errorf("invalid ip-range %s: %w", spec.IPRange, errdefs.ErrInvalid)
		}
		if !s.Subnet.Contains(p.Addr()) || p.Bits() < s.Subnet.Bits() {
			return fmt.Errorf("invalid pool request: ip-range %s is not within the subnet %s: %w", p, s.Subnet, errdefs.ErrForbidden)
		}
		s.IPRange = p
	}
	if spec.Gateway != "" {
		g, err := netip.ParseAddr(spec.Gateway)
		if err != nil || !g.Is4() {
			return fmt.Errorf("invalid gateway %s: %w", spec.Gateway, errdefs.ErrInvalid)
		}
		if !s.Subnet.Contains(g) || g == s.Subnet.Addr() || g == broadcast(s.Subnet) {
			return fmt.Errorf("invalid pool request: gateway %s is not a host address of the subnet %s: %w", g,
				s.Subnet, errdefs.ErrForbidden)
		}
		s.Gateway = g
	} else {
		s.Gateway = s.Subnet.Addr().Next()
	}
	return nil
}

// nextSubnet is the first address after the /bits block that a starts.
func nextSubnet(a netip.Addr, bits int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += 1 << (32 - bits)
	if v == 0 {
		return netip.Addr{} // wrapped: past the address space
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// broadcast is the last address of p.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// allocate picks the lowest free address of the network's pool: not the subnet's first or last address, not
// the gateway, not one in use.
func (s *scope) allocate(used map[netip.Addr]bool) (netip.Addr, error) {
	pool := s.pool()
	if !pool.IsValid() {
		return netip.Addr{}, fmt.Errorf("network %s gives out no addresses: %w", s.Name, errdefs.ErrForbidden)
	}
	last := broadcast(s.Subnet)
	// A range smaller than the subnet keeps its own first and last addresses free too, as a subnet does.
	inner := pool.Bits() > s.Subnet.Bits() && pool.Bits() <= 30
	for a := pool.Masked().Addr(); pool.Contains(a); a = a.Next() {
		if a == s.Subnet.Addr() || a == last || a == s.Gateway || used[a] ||
			inner && (a == pool.Masked().Addr() || a == broadcast(pool)) {
			continue
		}
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("no available IPv4 addresses on this network's address pools: %s (%s): %w", s.Name,
		pool, errdefs.ErrForbidden)
}

// checkStatic checks an address asked for on the network.
func (s *scope) checkStatic(a netip.Addr, used map[netip.Addr]bool) error {
	switch {
	case !s.Subnet.IsValid():
		return fmt.Errorf("network %s gives out no addresses: %w", s.Name, errdefs.ErrForbidden)
	case !s.Subnet.Contains(a):
		return fmt.Errorf("invalid endpoint settings:\nno configured subnet contains IP address %s: %w", a, errdefs.ErrForbidden)
	case a == s.Subnet.Addr() || a == broadcast(s.Subnet) || a == s.Gateway:
		return fmt.Errorf("address %s is reserved on network %s: %w", a, s.Name, errdefs.ErrForbidden)
	case used[a]:
		return fmt.Errorf("Address already in use: %s: %w", a, errdefs.ErrForbidden)
	}
	return nil
}
