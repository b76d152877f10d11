package vch

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/installer/vchwire"
)

// DefaultPublicNetwork is VIC's default for --public-network.
const DefaultPublicNetwork = "VM Network"

// ParseContainerNetwork reads "portgroup:alias"; the alias (the docker network's name) defaults to the port
// group's name when that is a valid docker network name.
func ParseContainerNetwork(s string) (vchwire.ContainerNetwork, error) {
	var n vchwire.ContainerNetwork
	if i := strings.LastIndex(s, ":"); i >= 0 {
		n.PortGroup, n.Alias = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	} else {
		n.PortGroup, n.Alias = strings.TrimSpace(s), strings.TrimSpace(s)
	}
	if n.PortGroup == "" {
		return n, fmt.Errorf("--container-network %q names no port group: use portgroup:alias", s)
	}
	if !labelPattern.MatchString(n.Alias) {
		return n, fmt.Errorf("--container-network %q: the docker network name %q must be letters, digits, '.', '_' "+
			"or '-'; give one after a colon: %s:NAME", s, n.Alias, n.PortGroup)
	}
	return n, nil
}

// networkNames lists the networks (port groups) the compute resource's hosts are connected to.
func (s *Session) networkNames(ctx context.Context, p *placement) (map[string]bool, error) {
	var crmo mo.ComputeResource
	if err := p.Compute.Properties(ctx, p.Compute.Reference(), []string{"network"}, &crmo); err != nil {
		return nil, fmt.Errorf("list the networks of %s: %w", p.Compute.InventoryPath, err)
	}
	out := map[string]bool{}
	if len(crmo.Network) == 0 {
		return out, nil
	}
	var nets []mo.Network
	if err := property.DefaultCollector(s.Client).Retrieve(ctx, crmo.Network, []string{"name"}, &nets); err != nil {
		return nil, fmt.Errorf("read network names: %w", err)
	}
	for _, n := range nets {
		out[n.Name] = true
	}
	return out, nil
}

// network resolves a port group name given with flag.
func (s *Session) network(ctx context.Context, avail map[string]bool, name, flag string) (object.NetworkReference, error) {
	names := make([]string, 0, len(avail))
	for n := range avail {
		names = append(names, n)
	}
	if name == "" {
		return nil, fmt.Errorf("%s is required\n%s", flag, suggest(flag, names))
	}
	if !avail[name] {
		return nil, fmt.Errorf("network %q (%s) not found or not available to the compute resource\n%s", name, flag, suggest(flag, names))
	}
	n, err := s.Finder.Network(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("find network %q: %w", name, err)
	}
	return n, nil
}

// ContainerNetworkSettings are the container networks' settings, each "portgroup:value" and repeatable, as
// vic-machine took them.
type ContainerNetworkSettings struct {
	ContainerNetworkGateways  []string // portgroup:gateway/prefix
	ContainerNetworkIPRanges  []string // portgroup:CIDR
	ContainerNetworkDNS       []string // portgroup:address
	ContainerNetworkFirewalls []string // portgroup:trust
}

// firewallTrusts are VIC's trust levels of a container network's firewall.
var firewallTrusts = []string{"closed", "outbound", "peers", "published", "open"}

// apply puts the settings on the networks of nets they name. A setting that names no network of nets is
// an error when strict (create), and left for the networks it names otherwise.
func (s ContainerNetworkSettings) apply(nets []vchwire.ContainerNetwork, strict bool) error {
	find := func(flag, raw string) (*vchwire.ContainerNetwork, string, error) {
		i := strings.LastIndex(raw, ":")
		if i <= 0 || i == len(raw)-1 {
			return nil, "", fmt.Errorf("--%s %q: want portgroup:value", flag, raw)
		}
		pg, v := strings.TrimSpace(raw[:i]), strings.TrimSpace(raw[i+1:])
		for j := range nets {
			if nets[j].PortGroup == pg {
				return &nets[j], v, nil
			}
		}
		if strict {
			return nil, "", fmt.Errorf("--%s %q: port group %q is not a --container-network", flag, raw, pg)
		}
		return nil, "", nil
	}
	var errs []error
	each := func(flag string, vals []string, set func(n *vchwire.ContainerNetwork, v string) error) {
		for _, raw := range vals {
			n, v, err := find(flag, raw)
			if err == nil && n != nil {
				err = set(n, v)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	each("container-network-gateway", s.ContainerNetworkGateways, func(n *vchwire.ContainerNetwork, v string) error {
		p, err := netip.ParsePrefix(v)
		if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
			return fmt.Errorf("--container-network-gateway %s:%s: want the gateway's IPv4 address and the subnet's length, 10.3.0.1/16", n.PortGroup, v)
		}
		n.Gateway = p.String()
		return nil
	})
	each("container-network-ip-range", s.ContainerNetworkIPRanges, func(n *vchwire.ContainerNetwork, v string) error {
		p, err := netip.ParsePrefix(v)
		if err != nil || !p.Addr().Is4() || p != p.Masked() {
			return fmt.Errorf("--container-network-ip-range %s:%s: want a CIDR, 10.3.1.0/24", n.PortGroup, v)
		}
		n.IPRange = p.String()
		return nil
	})
	each("container-network-dns", s.ContainerNetworkDNS, func(n *vchwire.ContainerNetwork, v string) error {
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
			return fmt.Errorf("--container-network-dns %s:%s: want an IPv4 address", n.PortGroup, v)
		}
		n.DNS = append(n.DNS, v)
		return nil
	})
	each("container-network-firewall", s.ContainerNetworkFirewalls, func(n *vchwire.ContainerNetwork, v string) error {
		if !slices.Contains(firewallTrusts, v) {
			return fmt.Errorf("--container-network-firewall %s:%s: want one of %s", n.PortGroup, v, strings.Join(firewallTrusts, ", "))
		}
		n.Firewall = v
		return nil
	})
	for _, n := range nets {
		if n.IPRange != "" {
			if n.Gateway == "" {
				errs = append(errs, fmt.Errorf("container network %q: an IP range needs a --container-network-gateway", n.Alias))
				continue
			}
			gw, r := netip.MustParsePrefix(n.Gateway), netip.MustParsePrefix(n.IPRange)
			if !gw.Masked().Contains(r.Addr()) || r.Bits() < gw.Bits() {
				errs = append(errs, fmt.Errorf("container network %q: the range %s is outside the gateway's subnet %s", n.Alias, r, gw.Masked()))
			}
		}
	}
	return errors.Join(errs...)
}
