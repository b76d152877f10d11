package vsphere

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/vice-engine/vice/tether/wire"
)

// dnsTable is what the VCH's DNS answers from: the running containers by address, and each user-defined
// bridge network's names (container names, short IDs, aliases), as Docker's embedded DNS has them. The
// default bridge network has no names but the links of each container, as in Docker.
type dnsTable struct {
	sources map[netip.Addr]*dnsSource
	names   map[string]map[string][]netip.Addr // network ID -> name -> addresses
	addrs   map[string]map[string]netip.Addr   // container ID -> network ID -> its address there
}

// dnsSource is a container asking: the bridge networks it is on, its links and its name servers.
type dnsSource struct {
	scopes    []string
	scopeOf   map[netip.Addr]string // its addresses' networks
	links     map[string]string     // alias -> container ID
	upstreams []string
}

// buildDNSTable makes the table from the inventory.
func buildDNSTable(all []*containerVM, scopes map[string]*scope) *dnsTable {
	t := &dnsTable{sources: map[netip.Addr]*dnsSource{}, names: map[string]map[string][]netip.Addr{},
		addrs: map[string]map[string]netip.Addr{}}
	for _, c := range all {
		if !c.state().Running {
			continue
		}
		var cfg wire.ContainerConfig
		_ = json.Unmarshal([]byte(c.extra[wire.KeyConfig]), &cfg)
		src := &dnsSource{links: map[string]string{}, scopeOf: map[netip.Addr]string{}, upstreams: c.askedDNS(cfg)}
		id := c.id()
		t.addrs[id] = map[string]netip.Addr{}
		for _, ep := range c.endpoints() {
			s := scopes[ep.Network]
			if s == nil || s.Type != scopeBridge || !ep.IP.IsValid() {
				continue
			}
			t.addrs[id][s.ID] = ep.IP
			t.sources[ep.IP] = src
			src.scopes = append(src.scopes, s.ID)
			src.scopeOf[ep.IP] = s.ID
			for _, l := range ep.Links {
				src.links[strings.ToLower(l.Alias)] = l.Container
			}
			if s.Predefined {
				continue // the default bridge resolves links only
			}
			names := t.names[s.ID]
			if names == nil {
				names = map[string][]netip.Addr{}
				t.names[s.ID] = names
			}
			for _, name := range append([]string{c.name(), id[:shortIDLength]}, ep.Aliases...) {
				name = strings.ToLower(name)
				names[name] = append(names[name], ep.IP)
			}
		}
	}
	return t
}

// Resolve answers a DNS query from src (dataplane.Resolver): a link's alias, then the names of the
// networks the asking container is on, the network of src first; anything else goes to the container's
// name servers.
func (n *netRuntime) Resolve(src netip.Addr, name string) ([]netip.Addr, bool, []string) {
	n.mu.Lock()
	t := n.table
	n.mu.Unlock()
	s := t.sources[src]
	if s == nil {
		return nil, false, nil
	}
	if target, ok := s.links[name]; ok {
		for _, sc := range s.scopes {
			if a, ok := t.addrs[target][sc]; ok {
				return []netip.Addr{a}, true, nil
			}
		}
	}
	order := append([]string{s.scopeOf[src]}, s.scopes...)
	for _, sc := range order {
		if addrs := t.names[sc][name]; len(addrs) > 0 {
			return addrs, true, nil
		}
	}
	return nil, false, s.upstreams
}
