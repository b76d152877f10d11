package vsphere

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// dnsContainer is a running containerVM with endpoints, as the inventory would describe it.
func dnsContainer(id, name string, dns string, eps ...endpointRecord) *containerVM {
	c := &containerVM{power: types.VirtualMachinePowerStatePoweredOn, extra: map[string]string{
		wire.KeyID: id, keyName: name, keyEndpoints: encodeEndpoints(eps), wire.KeyConfig: `{}`,
	}}
	if dns != "" {
		c.extra[keyDNS] = `["` + dns + `"]`
	}
	return c
}

// The VCH's DNS answers as Docker's embedded DNS: names, short IDs and aliases on user-defined networks the
// asking container shares, links anywhere (the default bridge too), nothing else (forwarded to the asking
// container's name servers), and nothing to containers it does not know.
func TestDNSTable(t *testing.T) {
	bridge := &scope{ID: "b", Name: "bridge", Type: scopeBridge, Predefined: true}
	n1 := &scope{ID: "n1", Name: "n1", Type: scopeBridge}
	n2 := &scope{ID: "n2", Name: "n2", Type: scopeBridge}
	scopes := map[string]*scope{"b": bridge, "n1": n1, "n2": n2}
	ip := netip.MustParseAddr
	idA, idB, idC := "aaaaaaaaaaaa"+"0000", "bbbbbbbbbbbb"+"0000", "cccccccccccc"+"0000"
	all := []*containerVM{
		dnsContainer(idA, "web1", "", endpointRecord{Network: "n1", IP: ip("10.1.0.2"), Aliases: []string{"web"}},
			endpointRecord{Network: "b", IP: ip("172.16.0.2")}),
		dnsContainer(idB, "web2", "", endpointRecord{Network: "n1", IP: ip("10.1.0.3"), Aliases: []string{"Web"}}),
		dnsContainer(idC, "client", "192.0.2.53", endpointRecord{Network: "b", IP: ip("172.16.0.3"),
			Links: []linkRecord{{Container: idA, Alias: "db"}}}, endpointRecord{Network: "n2", IP: ip("10.2.0.2")}),
	}
	stopped := dnsContainer("dddddddddddd0000", "stopped", "", endpointRecord{Network: "n1", IP: ip("10.1.0.9")})
	stopped.power = types.VirtualMachinePowerStatePoweredOff
	all = append(all, stopped)
	// A table read after every query here: no query reads the inventory again (there is none).
	n := &netRuntime{table: buildDNSTable(all, scopes, time.Now().Add(time.Hour))}
	for _, c := range []struct {
		src, name string
		want      []string
		known     bool
		upstreams []string
	}{
		{"10.1.0.3", "web1", []string{"10.1.0.2"}, true, nil},
		{"10.1.0.3", "aaaaaaaaaaaa", []string{"10.1.0.2"}, true, nil},
		{"10.1.0.3", "web", []string{"10.1.0.2", "10.1.0.3"}, true, nil},
		{"10.1.0.2", "web2", []string{"10.1.0.3"}, true, nil},
		{"10.1.0.2", "stopped", nil, false, nil},
		{"172.16.0.3", "db", []string{"172.16.0.2"}, true, nil},
		{"10.2.0.2", "db", []string{"172.16.0.2"}, true, nil},
		{"172.16.0.3", "web1", nil, false, []string{"192.0.2.53"}}, // the default bridge has no names
		{"172.16.0.2", "client", nil, false, nil},
		{"10.9.9.9", "web1", nil, false, nil},
	} {
		got, known, up := n.Resolve(ip(c.src), c.name)
		var s []string
		for _, a := range got {
			s = append(s, a.String())
		}
		slices.Sort(s)
		if !slices.Equal(s, c.want) || known != c.known || !slices.Equal(up, c.upstreams) {
			t.Errorf("%s asks %s: %v %v %v, want %v %v %v", c.src, c.name, s, known, up, c.want, c.known, c.upstreams)
		}
	}
}
