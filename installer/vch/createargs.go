package vch

import (
	"context"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/installer/vchwire"
)

// CreateArgs is the create command line that makes the VCH o names again, without the password (VIC's
// `inspect config`): "vice-machine", "create", then each flag and its value as separate arguments.
func (m *Manager) CreateArgs(ctx context.Context, o CommonOptions) ([]string, error) {
	ctx, s, v, done, err := m.openVCH(ctx, o)
	if err != nil {
		return nil, err
	}
	defer done()
	return createArgs(ctx, s, v), nil
}

// createArgs is the create command line of v.
func createArgs(ctx context.Context, s *Session, v *VCH) []string {
	c := v.Config
	args := []string{"vice-machine", "create"}
	flag := func(name, value string) { args = append(args, "--"+name, value) }
	target := &url.URL{Scheme: s.Target.Scheme, Host: s.Target.Host}
	user := s.Target.User
	if u, err := url.Parse(c.Target); err == nil && u.Host != "" {
		target.Scheme, target.Host = u.Scheme, u.Host
		if u.User != nil {
			user = u.User.Username()
		}
	}
	if dc := strings.TrimPrefix(c.Datacenter, "/"); dc != "" {
		target.Path = "/" + dc
	}
	flag("target", target.String())
	flag("user", user)
	if tp := c.Thumbprint; tp != "" {
		flag("thumbprint", tp)
	}
	flag("name", v.Name)
	if c.ComputeResource != "" {
		flag("compute-resource", c.ComputeResource)
	}
	flag("image-store", c.ImageStore)
	for _, l := range slices.Sorted(maps.Keys(c.VolumeStores)) {
		flag("volume-store", volumeStoreFromURL(l, c.VolumeStores[l]).Flag())
	}
	flag("bridge-network", c.BridgeNetwork)
	if c.BridgeNetworkRange != "" && c.BridgeNetworkRange != DefaultBridgeNetworkRange {
		flag("bridge-network-range", c.BridgeNetworkRange)
	}
	flag("public-network", c.PublicNetwork)
	if c.ClientNetwork != "" && c.ClientNetwork != c.PublicNetwork {
		flag("client-network", c.ClientNetwork)
	}
	if c.ManagementNetwork != "" && c.ManagementNetwork != c.PublicNetwork {
		flag("management-network", c.ManagementNetwork)
	}
	for _, n := range c.ContainerNetworks {
		flag("container-network", n.PortGroup+":"+n.Alias)
		if n.Gateway != "" {
			flag("container-network-gateway", n.PortGroup+":"+n.Gateway)
		}
		if n.IPRange != "" {
			flag("container-network-ip-range", n.PortGroup+":"+n.IPRange)
		}
		for _, d := range n.DNS {
			flag("container-network-dns", n.PortGroup+":"+d)
		}
		if n.Firewall != "" {
			flag("container-network-firewall", n.PortGroup+":"+n.Firewall)
		}
	}
	for _, d := range c.DNS {
		flag("dns-server", d)
	}
	if v.Pool != nil {
		if cpu, mem, err := poolLimits(ctx, v.Pool); err == nil {
			if mem > 0 {
				flag("memory", strconv.FormatInt(mem, 10))
			}
			if cpu > 0 {
				flag("cpu", strconv.FormatInt(cpu, 10))
			}
		}
		if s.IsVC && !isVApp(v.Pool.Reference()) {
			args = append(args, "--use-rp")
		}
	}
	if v.MemoryMB != 0 && v.MemoryMB != DefaultEndpointMemoryMB {
		flag("endpoint-memory", strconv.Itoa(int(v.MemoryMB)))
	}
	if v.CPUs != 0 && v.CPUs != DefaultEndpointCPUs {
		flag("endpoint-cpu", strconv.Itoa(int(v.CPUs)))
	}
	for _, r := range c.InsecureRegistries {
		flag("insecure-registry", r)
	}
	for _, r := range c.RegistryMirrors {
		flag("registry-mirror", r)
	}
	for _, r := range c.WhitelistRegistries {
		flag("whitelist-registry", r)
	}
	// The registry CAs were files on the machine that created the VCH: the line cannot name them.
	switch c.TLS {
	case vchwire.TLSOff:
		args = append(args, "--no-tls")
	case vchwire.TLSServer:
		args = append(args, "--no-tlsverify")
	}
	if c.TLS != vchwire.TLSOff && v.TLS != nil {
		for _, n := range certCNames(v.TLS.ServerCert) {
			flag("tls-cname", n)
		}
	}
	if c.Backend != "" && c.Backend != DefaultBackend {
		flag("backend", c.Backend)
	}
	if c.Debug {
		args = append(args, "--debug")
	}
	return args
}
