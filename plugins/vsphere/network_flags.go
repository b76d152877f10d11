package vsphere

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vice-engine/vice/installer/vchwire"
)

// multiFlag is a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// NetworkFlags declares the network configuration's flags on fs (VIC's names) and returns the function that
// reads them once fs is parsed. bridgeDefault is --bridge-network's default.
func NetworkFlags(fs *flag.FlagSet, bridgeDefault string, getenv func(string) string) func() (NetworkConfig, error) {
	bridge := fs.String("bridge-network", bridgeDefault, "port group of the bridge network and the user-defined networks (empty: none)")
	bridgeRange := fs.String("bridge-network-range", DefaultBridgeRange.String(), "where bridge networks' subnets are carved from, a /16 each")
	public := fs.String("public-address", "", "the VCH's public address, where container ports are published")
	nicNS := fs.String("nic-netns", getenv(vchwire.NICNamespaceEnv), "path of the network namespace holding the endpoint VM's NICs (default: $"+vchwire.NICNamespaceEnv+", else this process's own)")
	var nets, gateways, ranges, dns, firewalls multiFlag
	fs.Var(&nets, "container-network", "a port group containers join directly, portgroup[:name] (repeatable)")
	fs.Var(&gateways, "container-network-gateway", "portgroup:gateway/prefix of a container network (repeatable)")
	fs.Var(&ranges, "container-network-ip-range", "portgroup:CIDR a container network's addresses are given from (repeatable)")
	fs.Var(&dns, "container-network-dns", "portgroup:address of a container network's name server (repeatable)")
	fs.Var(&firewalls, "container-network-firewall", "portgroup:trust (closed, outbound, peers, published, open) (repeatable)")
	return func() (NetworkConfig, error) {
		cfg := NetworkConfig{BridgePortGroup: *bridge, PublicAddress: *public, NICNamespace: *nicNS}
		var err error
		if cfg.BridgeRange, err = netip.ParsePrefix(*bridgeRange); err != nil {
			return cfg, fmt.Errorf("--bridge-network-range %q: %w", *bridgeRange, err)
		}
		if *public != "" {
			if _, err := netip.ParseAddr(*public); err != nil {
				return cfg, fmt.Errorf("--public-address %q: %w", *public, err)
			}
		}
		byPG := map[string]*ContainerNetwork{}
		for _, n := range nets {
			c := ParseContainerNetwork(n)
			cfg.ContainerNetworks = append(cfg.ContainerNetworks, c)
		}
		for i := range cfg.ContainerNetworks {
			byPG[cfg.ContainerNetworks[i].PortGroup] = &cfg.ContainerNetworks[i]
		}
		each := func(flag string, vals []string, set func(c *ContainerNetwork, v string) error) error {
			for _, v := range vals {
				i := strings.LastIndex(v, ":")
				if i < 0 {
					return fmt.Errorf("--%s %q: want portgroup:value", flag, v)
				}
				c := byPG[v[:i]]
				if c == nil {
					return fmt.Errorf("--%s %q: port group %q is not a --container-network", flag, v, v[:i])
				}
				if err := set(c, v[i+1:]); err != nil {
					return fmt.Errorf("--%s %q: %w", flag, v, err)
				}
			}
			return nil
		}
		if err := each("container-network-gateway", gateways, func(c *ContainerNetwork, v string) (err error) {
			c.Gateway, err = netip.ParsePrefix(v)
			return err
		}); err != nil {
			return cfg, err
		}
		if err := each("container-network-ip-range", ranges, func(c *ContainerNetwork, v string) (err error) {
			c.IPRange, err = netip.ParsePrefix(v)
			return err
		}); err != nil {
			return cfg, err
		}
		if err := each("container-network-dns", dns, func(c *ContainerNetwork, v string) error {
			if _, err := netip.ParseAddr(v); err != nil {
				return err
			}
			c.DNS = append(c.DNS, v)
			return nil
		}); err != nil {
			return cfg, err
		}
		if err := each("container-network-firewall", firewalls, func(c *ContainerNetwork, v string) error {
			c.Trust = v
			return nil
		}); err != nil {
			return cfg, err
		}
		return cfg.withDefaults()
	}
}
