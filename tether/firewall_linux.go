package tether

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// firewallTable is the tether's own nftables table: it holds every rule of the NICs' trust levels, and is
// made anew each time they are applied.
const firewallTable = "vice"

// applyFirewall enforces the trust level of each NIC's network (wire.NetworkEndpoint.Firewall) on the
// interface nets' NICs have, names by MAC in ifnames. NICs of open networks (and of none) are left alone; a
// configuration without any leaves no table.
func applyFirewall(nets []wire.NetworkEndpoint, ifnames map[string]string, opts ...nftables.ConnOption) error {
	c, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: firewallTable}
	if tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4); err == nil {
		for _, t := range tables {
			if t.Name == firewallTable {
				c.DelTable(t)
			}
		}
	}
	guarded := false
	for _, n := range nets {
		if n.Firewall != "" && n.Firewall != wire.TrustOpen {
			guarded = true
		}
	}
	if !guarded {
		return c.Flush()
	}
	c.AddTable(table)
	accept := nftables.ChainPolicyAccept
	in := c.AddChain(&nftables.Chain{Name: "input", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	out := c.AddChain(&nftables.Chain{Name: "output", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	rule := func(ch *nftables.Chain, exprs ...expr.Any) {
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: exprs})
	}
	for _, n := range nets {
		ifname := ifnames[strings.ToLower(n.MAC)]
		if ifname == "" || n.Firewall == "" || n.Firewall == wire.TrustOpen {
			continue
		}
		inIf, outIf := matchIf(expr.MetaKeyIIFNAME, ifname), matchIf(expr.MetaKeyOIFNAME, ifname)
		switch n.Firewall {
		case wire.TrustClosed:
		case wire.TrustOutbound:
			rule(in, cat(inIf, established(), verdict(expr.VerdictAccept))...)
			rule(out, cat(outIf, verdict(expr.VerdictAccept))...)
		case wire.TrustPeers:
			if sub, err := netip.ParsePrefix(n.Address); err == nil {
				rule(in, cat(inIf, matchNet(12, sub.Masked()), verdict(expr.VerdictAccept))...)
				rule(out, cat(outIf, matchNet(16, sub.Masked()), verdict(expr.VerdictAccept))...)
			}
		case wire.TrustPublished:
			rule(in, cat(inIf, established(), verdict(expr.VerdictAccept))...)
			rule(out, cat(outIf, established(), verdict(expr.VerdictAccept))...)
			for _, p := range n.Published {
				port, proto, err := parsePort(p)
				if err != nil {
					return err
				}
				rule(in, cat(inIf, matchPort(proto, port), verdict(expr.VerdictAccept))...)
			}
		default:
			return fmt.Errorf("network %s: unknown firewall trust level %q", n.Network, n.Firewall)
		}
		rule(in, cat(inIf, verdict(expr.VerdictDrop))...)
		rule(out, cat(outIf, verdict(expr.VerdictDrop))...)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}

func cat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func verdict(k expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: k}} }

// matchIf matches the input or output interface's name.
func matchIf(key expr.MetaKey, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b}}
}

// established matches packets of connections already made, and what they bring along.
func established() []expr.Any {
	mask := make([]byte, 4)
	binary.NativeEndian.PutUint32(mask, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// matchNet matches the IPv4 header's address at offset (12 the source, 16 the destination) against p.
func matchNet(offset uint32, p netip.Prefix) []expr.Any {
	mask := net.CIDRMask(p.Bits(), 32)
	addr := p.Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
	}
}

// matchPort matches a transport protocol and destination port.
func matchPort(proto byte, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, port)},
	}
}

// parsePort reads "80/tcp" (tcp when the protocol is left out).
func parsePort(s string) (uint16, byte, error) {
	num, proto, _ := strings.Cut(s, "/")
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("published port %q: %w", s, err)
	}
	switch proto {
	case "", "tcp":
		return uint16(n), unix.IPPROTO_TCP, nil
	case "udp":
		return uint16(n), unix.IPPROTO_UDP, nil
	}
	return 0, 0, fmt.Errorf("published port %q: protocol %q", s, proto)
}
