package vch

import (
	"context"
	"fmt"
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
