package vsphere

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// A container's places on its networks are kept in its VM's extraConfig: the endpoints (network, address,
// MAC, names) as JSON under keyEndpoints, one NIC each; the ports asked for under keyPorts and the ones its
// last start bound under keyPortsBound. The addresses in use on a network are those of every containerVM's
// endpoints, so nothing else needs to survive a restart.
const (
	keyEndpoints  = wire.ConfigPrefix + "endpoints"
	keyPorts      = wire.ConfigPrefix + "ports"
	keyPortsBound = wire.ConfigPrefix + "ports.bound"
	keyDNS        = wire.ConfigPrefix + "dns"
)

// endpointRecord is one endpoint, as kept.
type endpointRecord struct {
	Network   string       `json:"network"`
	ID        string       `json:"id"`
	IP        netip.Addr   `json:"ip,omitzero"`
	MAC       string       `json:"mac"`
	StaticIP  bool         `json:"staticIP,omitempty"`
	StaticMAC bool         `json:"staticMAC,omitempty"`
	Aliases   []string     `json:"aliases,omitempty"`
	Links     []linkRecord `json:"links,omitempty"`
}

type linkRecord struct {
	Container string `json:"container"`
	Alias     string `json:"alias"`
}

// endpoints are the container's endpoints, in order; damaged records are none.
func (c *containerVM) endpoints() []endpointRecord {
	var eps []endpointRecord
	if raw := c.extra[keyEndpoints]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &eps)
	}
	return eps
}

// endpoint is the container's endpoint on network scope, or nil.
func (c *containerVM) endpoint(scope string) *endpointRecord {
	for _, ep := range c.endpoints() {
		if ep.Network == scope {
			return &ep
		}
	}
	return nil
}

func encodeEndpoints(eps []endpointRecord) string {
	if len(eps) == 0 {
		return ""
	}
	b, _ := json.Marshal(eps) // plain values always encode
	return string(b)
}

// endpointID names the container's endpoint on a network; the same for as long as it is on it.
func endpointID(container, scope string) string {
	sum := sha256.Sum256([]byte(container + "/" + scope))
	return hex.EncodeToString(sum[:])
}

// inUse is what the VCH's containers hold: the addresses of each network and every MAC.
type inUse struct {
	ips  map[string]map[netip.Addr]bool // network ID -> addresses
	macs map[string]bool
}

func usedBy(all []*containerVM) inUse {
	u := inUse{ips: map[string]map[netip.Addr]bool{}, macs: map[string]bool{}}
	for _, c := range all {
		for _, ep := range c.endpoints() {
			u.add(ep)
		}
	}
	return u
}

func (u inUse) add(ep endpointRecord) {
	if u.ips[ep.Network] == nil {
		u.ips[ep.Network] = map[netip.Addr]bool{}
	}
	if ep.IP.IsValid() {
		u.ips[ep.Network][ep.IP] = true
	}
	u.macs[strings.ToLower(ep.MAC)] = true
}

// planEndpoint gives the endpoint asked for an address and a MAC. Called with the allocation lock held
// (ctr.createMu), so no other endpoint takes them in between.
func (b *Backend) planEndpoint(s *scope, id string, ask *models.Endpoint, used inUse) (endpointRecord, error) {
	if !s.hasEndpoints() {
		return endpointRecord{}, fmt.Errorf("container cannot be connected to the %s network %s: %w", s.Type, s.Name, errdefs.ErrInvalid)
	}
	ep := endpointRecord{Network: s.ID, ID: endpointID(id, s.ID), Aliases: slices.Clone(ask.Aliases)}
	for _, l := range ask.Links {
		if l == nil || l.Container == nil || l.Alias == nil || !containerIDPattern.MatchString(*l.Container) || *l.Alias == "" {
			return ep, fmt.Errorf("a link needs a container ID and an alias: %w", errdefs.ErrInvalid)
		}
		ep.Links = append(ep.Links, linkRecord{Container: *l.Container, Alias: *l.Alias})
	}
	ips := used.ips[s.ID]
	switch {
	case ask.IP != "":
		a, err := netip.ParseAddr(ask.IP)
		if err != nil || !a.Is4() {
			return ep, fmt.Errorf("invalid IPv4 address: %s: %w", ask.IP, errdefs.ErrInvalid)
		}
		if err := s.checkStatic(a, ips); err != nil {
			return ep, err
		}
		ep.IP, ep.StaticIP = a, true
	case s.Subnet.IsValid():
		a, err := s.allocate(ips)
		if err != nil {
			return ep, err
		}
		ep.IP = a
	}
	if ask.Mac != "" {
		hw, err := net.ParseMAC(ask.Mac)
		if err != nil || len(hw) != 6 {
			return ep, fmt.Errorf("invalid MAC address: %s: %w", ask.Mac, errdefs.ErrInvalid)
		}
		if hw[0]&1 == 1 {
			return ep, fmt.Errorf("invalid MAC address %s: a multicast address: %w", ask.Mac, errdefs.ErrInvalid)
		}
		ep.MAC, ep.StaticMAC = hw.String(), true
		if used.macs[ep.MAC] {
			return ep, fmt.Errorf("MAC address %s is in use by another container: %w", ep.MAC, errdefs.ErrForbidden)
		}
	} else {
		ep.MAC = newMAC(used.macs)
	}
	used.add(ep)
	return ep, nil
}

// newMAC is a MAC address of VMware's range for manually assigned addresses (00:50:56:00:00:00 to
// 00:50:56:3f:ff:ff), which vSphere accepts on any NIC, unused by the VCH's containers.
func newMAC(used map[string]bool) string {
	for {
		var b [3]byte
		_, _ = rand.Read(b[:])
		mac := fmt.Sprintf("00:50:56:%02x:%02x:%02x", b[0]&0x3f, b[1], b[2])
		if !used[mac] {
			return mac
		}
	}
}

// endpointInfo is the port layer's description of ep.
func endpointInfo(ep endpointRecord, s *scope) *models.EndpointInfo {
	i := &models.EndpointInfo{Network: ep.Network, ID: ep.ID, Mac: ep.MAC, Aliases: slices.Clone(ep.Aliases)}
	for _, l := range ep.Links {
		i.Links = append(i.Links, &models.Link{Container: &l.Container, Alias: &l.Alias})
	}
	if ep.IP.IsValid() {
		i.IP = ep.IP.String()
	}
	if s != nil {
		i.NetworkName = s.Name
		if s.Subnet.IsValid() {
			i.PrefixLength = int64(s.Subnet.Bits())
		}
		if s.Gateway.IsValid() {
			i.Gateway = s.Gateway.String()
		}
	}
	return i
}

// askedEndpoint is ep as the spec asked for it.
func askedEndpoint(ep endpointRecord) *models.Endpoint {
	net := ep.Network
	m := &models.Endpoint{Network: &net, Aliases: slices.Clone(ep.Aliases)}
	if ep.StaticIP {
		m.IP = ep.IP.String()
	}
	if ep.StaticMAC {
		m.Mac = ep.MAC
	}
	for _, l := range ep.Links {
		m.Links = append(m.Links, &models.Link{Container: &l.Container, Alias: &l.Alias})
	}
	return m
}

// guestNetworks is what the guest configures for eps: each NIC's address, the default route through the
// first network that has a gateway and a way out, and a container network's firewall, open to the ports
// published on it.
func guestNetworks(eps []endpointRecord, scopes map[string]*scope, ports []*models.PortBinding) []wire.NetworkEndpoint {
	var out []wire.NetworkEndpoint
	routed := false
	for _, ep := range eps {
		s := scopes[ep.Network]
		n := wire.NetworkEndpoint{MAC: ep.MAC}
		if s != nil {
			n.Network = s.Name
			if ep.IP.IsValid() && s.Subnet.IsValid() {
				n.Address = netip.PrefixFrom(ep.IP, s.Subnet.Bits()).String()
			}
			if s.Gateway.IsValid() {
				n.Gateway = s.Gateway.String()
				if !routed && !s.Internal && n.Address != "" {
					n.DefaultRoute, routed = true, true
				}
			}
			if s.Type == scopeContainer {
				n.Firewall = s.Trust
				for _, p := range ports {
					n.Published = append(n.Published, fmt.Sprintf("%d/%s", p.ContainerPort, orTCP(p.Protocol)))
				}
			}
		}
		out = append(out, n)
	}
	return out
}

// guestDNS is the guest's name servers: the VCH's DNS on the gateway of its first bridge network (which
// forwards what it does not know to the servers asked for), else a container network's servers, else the
// servers asked for.
func (b *Backend) guestDNS(eps []endpointRecord, scopes map[string]*scope, asked []string) []string {
	if b.net.servesDNS() {
		for _, ep := range eps {
			if s := scopes[ep.Network]; s != nil && s.Type == scopeBridge && s.Gateway.IsValid() {
				return []string{s.Gateway.String()}
			}
		}
	}
	for _, ep := range eps {
		if s := scopes[ep.Network]; s != nil && s.Type == scopeContainer && len(s.DNS) > 0 {
			return slices.Clone(s.DNS)
		}
	}
	return asked
}

// decodePorts reads port bindings kept as JSON.
func decodePorts(raw string) []*models.PortBinding {
	var out []*models.PortBinding
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &out)
	}
	return out
}

func encodePorts(ports []*models.PortBinding) string {
	if len(ports) == 0 {
		return ""
	}
	b, _ := json.Marshal(ports)
	return string(b)
}
