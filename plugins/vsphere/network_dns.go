package vsphere

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"time"

	"github.com/vice-engine/vice/tether/wire"
)

// dnsTable is what the VCH's DNS answers from: the running containers by address, and each user-defined
// bridge network's names (container names, short IDs, aliases), as Docker's embedded DNS has them. The
// default bridge network has no names but the links of each container, as in Docker.
type dnsTable struct {
	built   time.Time
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

// buildDNSTable makes the table from the inventory as read from the moment read on.
func buildDNSTable(all []*containerVM, scopes map[string]*scope, read time.Time) *dnsTable {
	t := &dnsTable{built: read, sources: map[netip.Addr]*dnsSource{}, names: map[string]map[string][]netip.Addr{},
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
// name servers. A container that asks, or a name asked, that the table does not have yet (it was made a
// moment before the container started) has the table read again from the inventory first: always for an
// asking container the table does not know (it has just started), at most once a tableRefresh for a name.
func (n *netRuntime) Resolve(src netip.Addr, name string) ([]netip.Addr, bool, []string) {
	asked := time.Now()
	addrs, known, upstreams, found := n.resolveIn(n.currentTable(), src, name)
	if found && known {
		return addrs, known, upstreams
	}
	if t := n.freshTable(asked, !found); t != nil {
		addrs, known, upstreams, _ = n.resolveIn(t, src, name)
	}
	return addrs, known, upstreams
}

func (n *netRuntime) currentTable() *dnsTable {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.table
}

// tableRefresh is the shortest time between two reads of the inventory that a DNS miss makes.
const tableRefresh = time.Second

// freshTable returns a table read from the inventory after the moment asked: the current one when its read
// began after it (queries waiting here together share one read), else a new read, except that for a
// source the table knows a table younger than tableRefresh stands (nil then).
func (n *netRuntime) freshTable(asked time.Time, unknownSource bool) *dnsTable {
	n.refreshMu.Lock()
	defer n.refreshMu.Unlock()
	cur := n.currentTable()
	if cur.built.After(asked) {
		return cur
	}
	if !unknownSource && time.Since(cur.built) < tableRefresh {
		return nil
	}
	read := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	scopes, err := n.b.scopeMap(ctx)
	if err != nil {
		return nil
	}
	all, err := n.b.containerVMs(ctx)
	if err != nil {
		return nil
	}
	t := buildDNSTable(all, scopes, read)
	n.setTable(t)
	return t
}

// setTable installs t unless the table in place was read later.
func (n *netRuntime) setTable(t *dnsTable) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.table == nil || !n.table.built.After(t.built) {
		n.table = t
	}
}

// resolveIn looks name up for src in t; found says whether src is one of t's containers.
func (n *netRuntime) resolveIn(t *dnsTable, src netip.Addr, name string) ([]netip.Addr, bool, []string, bool) {
	s := t.sources[src]
	if s == nil {
		return nil, false, nil, false
	}
	if target, ok := s.links[name]; ok {
		for _, sc := range s.scopes {
			if a, ok := t.addrs[target][sc]; ok {
				return []netip.Addr{a}, true, nil, true
			}
		}
	}
	order := append([]string{s.scopeOf[src]}, s.scopes...)
	for _, sc := range order {
		if addrs := t.names[sc][name]; len(addrs) > 0 {
			return addrs, true, nil, true
		}
	}
	return nil, false, s.upstreams, true
}
