package tether

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// nicWait is how long the guest waits for a NIC of its configuration to appear: at boot the VM's hardware
// is there already; a hot-added NIC comes a moment after the VCH's request.
const (
	nicWait = 30 * time.Second
	nicPoll = 50 * time.Millisecond
)

// configureNetwork brings the loopback interface up and sets every NIC of nets up with its address, found by
// its MAC; the default route goes through the gateway of the first endpoint that has one. Addresses a NIC
// has besides its configuration's are removed, so a configuration applied again (RequestNetwork) leaves the
// NICs as it says. Without endpoints nothing but the loopback is touched.
func configureNetwork(ctx context.Context, log *slog.Logger, nets []wire.NetworkEndpoint) error {
	if lo, err := netlink.LinkByName("lo"); err == nil {
		if err := netlink.LinkSetUp(lo); err != nil {
			return fmt.Errorf("loopback up: %w", err)
		}
	}
	if len(nets) == 0 {
		return nil
	}
	var gw net.IP
	gwLink := -1
	var errs []error
	ifnames := map[string]string{} // MAC -> interface
	for _, n := range nets {
		link, err := waitLink(ctx, n.MAC)
		if err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", n.Network, err))
			continue
		}
		if err := configureNIC(link, n); err != nil {
			errs = append(errs, fmt.Errorf("network %s (%s): %w", n.Network, link.Attrs().Name, err))
			continue
		}
		log.Info("network configured", "network", n.Network, "interface", link.Attrs().Name, "address", n.Address,
			"firewall", n.Firewall)
		ifnames[strings.ToLower(n.MAC)] = link.Attrs().Name
		if n.DefaultRoute && gw == nil {
			gw, gwLink = net.ParseIP(n.Gateway), link.Attrs().Index
		}
	}
	if err := setDefaultRoute(gw, gwLink); err != nil {
		errs = append(errs, err)
	}
	if err := applyFirewall(nets, ifnames); err != nil {
		errs = append(errs, fmt.Errorf("firewall: %w", err))
	}
	return errors.Join(errs...)
}

// waitLink returns the interface whose MAC is mac, waiting for it to appear.
func waitLink(ctx context.Context, mac string) (netlink.Link, error) {
	want, err := net.ParseMAC(mac)
	if err != nil {
		return nil, fmt.Errorf("MAC %q: %w", mac, err)
	}
	deadline := time.Now().Add(nicWait)
	for {
		links, err := netlink.LinkList()
		if err != nil {
			return nil, fmt.Errorf("list interfaces: %w", err)
		}
		for _, l := range links {
			if strings.EqualFold(l.Attrs().HardwareAddr.String(), want.String()) {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no interface with MAC %s appeared in %v", mac, nicWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(nicPoll):
		}
	}
}

// configureNIC sets link up with n's address, and only that one.
func configureNIC(link netlink.Link, n wire.NetworkEndpoint) error {
	var want *netlink.Addr
	if n.Address != "" {
		a, err := netlink.ParseAddr(n.Address)
		if err != nil {
			return fmt.Errorf("address %q: %w", n.Address, err)
		}
		want = a
	}
	have, err := netlink.AddrList(link, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range have {
		if want == nil || !a.IPNet.IP.Equal(want.IPNet.IP) || a.IPNet.Mask.String() != want.IPNet.Mask.String() {
			if err := netlink.AddrDel(link, &a); err != nil {
				return fmt.Errorf("remove address %s: %w", a.IPNet, err)
			}
		}
	}
	if want != nil {
		if err := netlink.AddrReplace(link, want); err != nil {
			return fmt.Errorf("address %s: %w", n.Address, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	return nil
}

// setDefaultRoute makes gw (through the interface of index link) the default route, or removes the default
// route when gw is nil.
func setDefaultRoute(gw net.IP, link int) error {
	routes, err := netlink.RouteListFiltered(unix.AF_INET, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask) {
			if gw != nil && r.Gw.Equal(gw) && r.LinkIndex == link {
				return nil
			}
			if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("remove the default route: %w", err)
			}
		}
	}
	if gw == nil {
		return nil
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link, Gw: gw}); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

func isZeroMask(m net.IPMask) bool {
	ones, _ := m.Size()
	return ones == 0
}

// netReloader applies the configuration's networks again when the VCH asks (wire.RequestNetwork): a NIC
// hot-added or removed, the resolver and /etc/hosts that follow the networks.
type netReloader struct {
	log *slog.Logger
	p   Platform
	mu  sync.Mutex
	cfg *wire.ContainerConfig // the guest's, whose networks and name servers a reload replaces
}

// reload is the request's handler.
func (n *netReloader) reload(_ []byte) (bool, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), nicWait+10*time.Second)
	defer cancel()
	if err := n.apply(ctx); err != nil {
		n.log.Error("network reload", "err", err)
		b, _ := json.Marshal(wire.ReplyError{Error: err.Error()})
		return false, b
	}
	return true, nil
}

func (n *netReloader) apply(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	raw, found, err := n.p.GuestInfo(ctx, wire.KeyConfig)
	if err != nil {
		return fmt.Errorf("read the configuration: %w", err)
	}
	if !found {
		return errors.New("no configuration in guestinfo")
	}
	var fresh wire.ContainerConfig
	if err := json.Unmarshal([]byte(raw), &fresh); err != nil {
		return fmt.Errorf("decode the configuration: %w", err)
	}
	if err := configureNetwork(ctx, n.log, fresh.Networks); err != nil {
		return err
	}
	n.cfg.Networks, n.cfg.DNS = fresh.Networks, fresh.DNS
	if err := os.WriteFile("/etc/hosts", []byte(hostsFile(n.cfg)), 0o644); err != nil {
		return fmt.Errorf("write /etc/hosts: %w", err)
	}
	if rc, ok := resolvConf(n.cfg); ok {
		if err := os.WriteFile("/etc/resolv.conf", []byte(rc), 0o644); err != nil {
			return fmt.Errorf("write /etc/resolv.conf: %w", err)
		}
	}
	return nil
}
