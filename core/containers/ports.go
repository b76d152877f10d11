package containers

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// portBindings turns -p (HostConfig.PortBindings) and -P (every exposed port not bound otherwise, to a port
// the VCH picks) into the spec's. A host port range gives its first port.
func portBindings(cfg *container.Config, host *container.HostConfig) ([]*models.PortBinding, error) {
	var out []*models.PortBinding
	bound := map[network.Port]bool{}
	keys := make([]network.Port, 0, len(host.PortBindings))
	for p := range host.PortBindings {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, p := range keys {
		proto, err := protocol(p)
		if err != nil {
			return nil, err
		}
		bound[p] = true
		for _, b := range host.PortBindings[p] {
			hp, err := hostPort(b.HostPort)
			if err != nil {
				return nil, err
			}
			pb := &models.PortBinding{Protocol: proto, ContainerPort: int64(p.Num()), HostPort: hp}
			if b.HostIP.IsValid() {
				pb.HostIP = b.HostIP.String()
			}
			out = append(out, pb)
		}
		if len(host.PortBindings[p]) == 0 {
			out = append(out, &models.PortBinding{Protocol: proto, ContainerPort: int64(p.Num())})
		}
	}
	if host.PublishAllPorts {
		exposed := make([]network.Port, 0, len(cfg.ExposedPorts))
		for p := range cfg.ExposedPorts {
			exposed = append(exposed, p)
		}
		sort.Slice(exposed, func(i, j int) bool { return exposed[i].String() < exposed[j].String() })
		for _, p := range exposed {
			if bound[p] {
				continue
			}
			proto, err := protocol(p)
			if err != nil {
				return nil, err
			}
			out = append(out, &models.PortBinding{Protocol: proto, ContainerPort: int64(p.Num())})
		}
	}
	return out, nil
}

func protocol(p network.Port) (string, error) {
	switch proto := string(p.Proto()); proto {
	case "", "tcp":
		return "tcp", nil
	case "udp":
		return "udp", nil
	default:
		return "", fmt.Errorf("invalid proto: %s: vice publishes tcp and udp ports: %w", proto, errdefs.ErrInvalid)
	}
}

// hostPort reads a binding's host port: empty is 0 (the VCH picks one), a range gives its first port.
func hostPort(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	first, _, _ := strings.Cut(s, "-")
	n, err := strconv.ParseUint(first, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("invalid hostPort: %s: %w", s, errdefs.ErrInvalid)
	}
	return int64(n), nil
}

// portMap is NetworkSettings.Ports: every exposed or published port, with the host ports bound for it while
// the container runs.
func portMap(r *record) network.PortMap {
	m := network.PortMap{}
	for p := range r.Config.ExposedPorts {
		m[p] = nil
	}
	for _, b := range r.info.Ports {
		p, ok := network.PortFrom(uint16(b.ContainerPort), network.IPProtocol(orTCP(b.Protocol)))
		if !ok {
			continue
		}
		pb := network.PortBinding{HostPort: strconv.FormatInt(b.HostPort, 10)}
		if a, err := netip.ParseAddr(b.HostIP); err == nil {
			pb.HostIP = a
		}
		m[p] = append(m[p], pb)
	}
	return m
}

// portSummaries is ps's PORTS: bound ports with their host side, exposed ones alone.
func portSummaries(r *record) []container.PortSummary {
	out := []container.PortSummary{}
	bound := map[network.Port]bool{}
	for _, b := range r.info.Ports {
		ps := container.PortSummary{PrivatePort: uint16(b.ContainerPort), PublicPort: uint16(b.HostPort),
			Type: orTCP(b.Protocol)}
		if a, err := netip.ParseAddr(b.HostIP); err == nil {
			ps.IP = a
		}
		out = append(out, ps)
		if p, ok := network.PortFrom(uint16(b.ContainerPort), network.IPProtocol(orTCP(b.Protocol))); ok {
			bound[p] = true
		}
	}
	for p := range r.Config.ExposedPorts {
		if !bound[p] {
			out = append(out, container.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PrivatePort != out[j].PrivatePort {
			return out[i].PrivatePort < out[j].PrivatePort
		}
		return out[i].Type < out[j].Type
	})
	return out
}

func orTCP(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}
