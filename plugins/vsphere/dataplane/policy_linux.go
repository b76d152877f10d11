package dataplane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// policyTable is the endpoint's nftables table in the NICs' namespace.
const policyTable = "vice-endpoint"

// Subnet is a bridge network as the forwarding policy sees it.
type Subnet struct {
	Prefix   netip.Prefix
	Internal bool // no way out of it
}

// setPolicy makes the NICs' namespace forward what the networks allow and nothing else: packets between two
// bridge networks never, packets of an internal network never, packets of the others out of the endpoint's
// other NICs (its public network) masqueraded behind the endpoint's address there. Forwarding is on only
// when the rules are in place and the endpoint has an address besides the bridge's to forward to; otherwise
// nothing is forwarded at all, which keeps every network apart too.
func (p *Plane) setPolicy(subnets []Subnet) error {
	egress, err := p.hasEgress()
	if err != nil {
		return err
	}
	ruleErr := p.installPolicy(subnets)
	forward := egress && ruleErr == nil
	if err := p.setForwarding(forward); err != nil {
		return err
	}
	if ruleErr != nil {
		return fmt.Errorf("no forwarding out of the bridge networks: %w", ruleErr)
	}
	return nil
}

// hasEgress says whether an interface other than the bridge NIC and the loopback has an IPv4 address.
func (p *Plane) hasEgress() (bool, error) {
	links, err := p.leg.h.LinkList()
	if err != nil {
		return false, fmt.Errorf("list interfaces: %w", err)
	}
	for _, l := range links {
		if l.Attrs().Index == p.leg.index || l.Attrs().Flags&net.FlagLoopback != 0 {
			continue
		}
		if addrs, err := p.leg.h.AddrList(l, unix.AF_INET); err == nil && len(addrs) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// setForwarding sets the namespace's IPv4 forwarding.
func (p *Plane) setForwarding(on bool) error {
	v := []byte("0\n")
	if on {
		v = []byte("1\n")
	}
	return p.ns.Do(func() error {
		// /proc/sys/net is the namespace of the thread that opens it.
		return os.WriteFile(filepath.Join("/proc/sys/net/ipv4/ip_forward"), v, 0o644)
	})
}

// installPolicy replaces the endpoint's table: a forward chain that drops by default, accepts the answers
// of connections made, and accepts what leaves a non-internal bridge network for another NIC; a
// postrouting chain that masquerades it.
func (p *Plane) installPolicy(subnets []Subnet) error {
	var opts []nftables.ConnOption
	if fd := p.ns.Fd(); fd >= 0 {
		opts = append(opts, nftables.WithNetNSFd(fd))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return err
	}
	if tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4); err == nil {
		for _, t := range tables {
			if t.Name == policyTable {
				c.DelTable(t)
			}
		}
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: policyTable})
	drop := nftables.ChainPolicyDrop
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: append(ctEstablished(), &expr.Verdict{Kind: expr.VerdictAccept})})
	leg := ifname(p.leg.name)
	for _, s := range subnets {
		if s.Internal {
			continue
		}
		out := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: leg},
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: leg},
		}
		out = append(out, sourceIn(s.Prefix)...)
		c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: append(out, &expr.Verdict{Kind: expr.VerdictAccept})})
		nat := []expr.Any{&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: leg}}
		nat = append(nat, sourceIn(s.Prefix)...)
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: append(nat, &expr.Masq{})})
	}
	if err := c.Flush(); err != nil {
		return errors.Join(errors.New("nftables"), err)
	}
	return nil
}

func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func ctEstablished() []expr.Any {
	mask := make([]byte, 4)
	binary.NativeEndian.PutUint32(mask, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// sourceIn matches an IPv4 source address in p.
func sourceIn(p netip.Prefix) []expr.Any {
	a := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: net.CIDRMask(p.Bits(), 32), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
	}
}
