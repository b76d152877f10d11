package machine

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/installer/vchwire"
)

// InspectConfig prints the create command line that makes the VCH again (without the password), as VIC's
// `inspect config` did, and returns its arguments.
func (m *Machine) InspectConfig(ctx context.Context, o ListOptions) ([]string, error) {
	m.Log.Infof("### Inspecting VCH configuration ####")
	ctx, s, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer done()
	args := m.createArgs(ctx, s, v)
	m.Log.Infof("Target VCH created with the following options:")
	fmt.Fprintln(m.Out)
	fmt.Fprintln(m.Out, formatCommand(args))
	fmt.Fprintln(m.Out)
	return args, nil
}

// createArgs is the create command line of v.
func (m *Machine) createArgs(ctx context.Context, s *Session, v *VCH) []string {
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
	for _, l := range sortedKeys(c.VolumeStores) {
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var plainArg = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellQuote quotes an argument for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if plainArg.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// formatCommand is args as a shell command, one flag per line.
func formatCommand(args []string) string {
	var b strings.Builder
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i >= 2 && strings.HasPrefix(a, "--") {
			b.WriteString(" \\\n    ")
		} else if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(shellQuote(a))
	}
	return b.String()
}
