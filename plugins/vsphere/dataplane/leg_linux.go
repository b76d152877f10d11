package dataplane

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// leg is the endpoint's NIC on the bridge network, in its namespace.
type leg struct {
	h     *netlink.Handle
	index int
	name  string
}

// findLeg finds the interface with MAC mac in ns and sets it up.
func findLeg(ns *Namespace, mac string) (*leg, error) {
	want, err := net.ParseMAC(mac)
	if err != nil {
		return nil, fmt.Errorf("the bridge NIC's MAC %q: %w", mac, err)
	}
	var h *netlink.Handle
	if fd := ns.Fd(); fd >= 0 {
		h, err = netlink.NewHandleAt(netns.NsHandle(fd))
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	links, err := h.LinkList()
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	for _, l := range links {
		if strings.EqualFold(l.Attrs().HardwareAddr.String(), want.String()) {
			if err := h.LinkSetUp(l); err != nil {
				h.Close()
				return nil, fmt.Errorf("%s up: %w", l.Attrs().Name, err)
			}
			return &leg{h: h, index: l.Attrs().Index, name: l.Attrs().Name}, nil
		}
	}
	h.Close()
	return nil, fmt.Errorf("no interface has the bridge NIC's MAC %s", mac)
}

// setAddresses gives the leg exactly the IPv4 addresses want.
func (l *leg) setAddresses(want []netip.Prefix) error {
	link, err := l.h.LinkByIndex(l.index)
	if err != nil {
		return fmt.Errorf("the bridge NIC: %w", err)
	}
	have, err := l.h.AddrList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", l.name, err)
	}
	keep := map[netip.Prefix]bool{}
	for _, p := range want {
		keep[p] = true
	}
	present := map[netip.Prefix]bool{}
	for _, a := range have {
		ip, _ := netip.AddrFromSlice(a.IPNet.IP.To4())
		ones, _ := a.IPNet.Mask.Size()
		p := netip.PrefixFrom(ip, ones)
		if keep[p] {
			present[p] = true
			continue
		}
		if err := l.h.AddrDel(link, &a); err != nil {
			return fmt.Errorf("remove %s from %s: %w", p, l.name, err)
		}
	}
	for _, p := range want {
		if present[p] {
			continue
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}}
		if err := l.h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("add %s to %s: %w", p, l.name, err)
		}
	}
	return nil
}

func (l *leg) close() { l.h.Close() }
