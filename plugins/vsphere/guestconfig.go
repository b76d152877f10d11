package vsphere

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// The port layer's container spec is kept in two places of a containerVM: what its guest needs is the
// tether's configuration (wire.KeyConfig, read by the tether from guestinfo); the rest is in the backend's
// own keys and the VM's hardware. This file is the one conversion between the spec and those records.
const (
	keyStopSignal  = wire.ConfigPrefix + "stop.signal"
	keyStopTimeout = wire.ConfigPrefix + "stop.timeout"
	keyLabels      = wire.ConfigPrefix + "labels"
)

// checkSpec refuses what the backend cannot honour; mounts are checked by checkMounts (mounts.go).
func checkSpec(spec *models.ContainerSpec) error {
	if spec.Process == nil || spec.Process.Path == "" {
		return fmt.Errorf("a container spec needs a process with a path: %w", errdefs.ErrInvalid)
	}
	seen := map[string]bool{}
	for _, ep := range spec.Endpoints {
		if ep == nil || ep.Network == nil || !scopeIDPattern.MatchString(*ep.Network) {
			return fmt.Errorf("an endpoint needs a network ID: %w", errdefs.ErrInvalid)
		}
		if seen[*ep.Network] {
			return fmt.Errorf("network %s is given twice: %w", *ep.Network, errdefs.ErrInvalid)
		}
		seen[*ep.Network] = true
	}
	for _, h := range spec.ExtraHosts {
		if h == nil || h.Hostname == nil || h.IP == nil || *h.Hostname == "" || strings.ContainsAny(*h.Hostname, " \t\n:") {
			return fmt.Errorf("extra host entry %v: a host name and an address are needed: %w", h, errdefs.ErrInvalid)
		}
	}
	if spec.StopSignal != "" {
		if _, err := parseSignal(spec.StopSignal); err != nil {
			return err
		}
	}
	return nil
}

// guestConfig is the tether's configuration of spec, with its mounts as planMounts resolved them, on the
// networks of nets with the name servers dns.
func guestConfig(spec *models.ContainerSpec, id, name string, mounts []wire.Mount, nets []wire.NetworkEndpoint, dns []string) wire.ContainerConfig {
	p := spec.Process
	cfg := wire.ContainerConfig{
		ID: id, Name: name, Hostname: spec.Hostname, Domainname: spec.Domainname,
		Path: p.Path, Args: p.Args, Env: p.Env, WorkingDir: p.WorkingDir, User: p.User,
		Tty: p.Tty, OpenStdin: p.OpenStdin, StdinOnce: p.StdinOnce, RunBlock: spec.HoldForAttach, Mounts: mounts,
		Networks: nets, DNS: dns,
	}
	if cfg.Hostname == "" {
		cfg.Hostname = id[:shortIDLength]
	}
	if d := spec.DNS; d != nil {
		cfg.DNSSearch, cfg.DNSOptions = d.Search, d.Options
	}
	for _, h := range spec.ExtraHosts {
		cfg.ExtraHosts = append(cfg.ExtraHosts, *h.Hostname+":"+*h.IP)
	}
	return cfg
}

// backendKeys are the spec's fields kept beside the guest's configuration.
func backendKeys(spec *models.ContainerSpec) map[string]string {
	kv := map[string]string{}
	if spec.StopSignal != "" {
		kv[keyStopSignal] = spec.StopSignal
	}
	if spec.StopTimeout != nil {
		kv[keyStopTimeout] = strconv.FormatInt(*spec.StopTimeout, 10)
	}
	if len(spec.Labels) > 0 {
		kv[keyLabels] = encodeAnnotations(spec.Labels)
	}
	if d := spec.DNS; d != nil && len(d.Servers) > 0 {
		b, _ := json.Marshal(d.Servers) // strings always encode
		kv[keyDNS] = string(b)
	}
	if p := encodePorts(spec.Ports); p != "" {
		kv[keyPorts] = p
	}
	return kv
}

// spec rebuilds the container's spec from the containerVM's records.
func (c *containerVM) spec() *models.ContainerSpec {
	var cfg wire.ContainerConfig
	_ = json.Unmarshal([]byte(c.extra[wire.KeyConfig]), &cfg) // written by CreateContainer; a zero one describes nothing
	id, name := c.id(), c.name()
	s := &models.ContainerSpec{
		ID: &id, Name: &name, Layer: c.extra[keyLayer],
		Process: &models.Process{Path: cfg.Path, Args: cfg.Args, Env: cfg.Env, WorkingDir: cfg.WorkingDir,
			User: cfg.User, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin, StdinOnce: cfg.StdinOnce},
		Hostname: cfg.Hostname, Domainname: cfg.Domainname, HoldForAttach: cfg.RunBlock,
		Resources:   &models.Resources{Cpus: c.cpus, MemoryMB: c.memMB},
		StopSignal:  c.extra[keyStopSignal],
		Annotations: decodeMap(c.extra[keyAnnotations]),
		Labels:      decodeMap(c.extra[keyLabels]),
	}
	if servers := c.askedDNS(cfg); len(servers)+len(cfg.DNSSearch)+len(cfg.DNSOptions) > 0 {
		s.DNS = &models.DNSConfig{Servers: servers, Search: cfg.DNSSearch, Options: cfg.DNSOptions}
	}
	for _, ep := range c.endpoints() {
		s.Endpoints = append(s.Endpoints, askedEndpoint(ep))
	}
	s.Ports = decodePorts(c.extra[keyPorts])
	for _, h := range cfg.ExtraHosts {
		if host, ip, ok := strings.Cut(h, ":"); ok {
			s.ExtraHosts = append(s.ExtraHosts, &models.HostEntry{Hostname: &host, IP: &ip})
		}
	}
	for _, m := range cfg.Mounts {
		s.Mounts = append(s.Mounts, &models.Mount{Type: m.Type, Source: m.Source, Destination: m.Destination,
			ReadOnly: m.ReadOnly, NoCopy: m.NoCopy, CreateSource: m.CreateSource, SizeBytes: m.SizeBytes,
			Mode: int64(m.Mode), Options: m.Options})
	}
	if t, err := strconv.ParseInt(c.extra[keyStopTimeout], 10, 64); err == nil {
		s.StopTimeout = &t
	}
	return s
}

// askedDNS is the name servers the spec asked for (upstreams of the VCH's DNS when the guest uses it). A
// container made before they were kept apart has them in the guest's configuration only.
func (c *containerVM) askedDNS(cfg wire.ContainerConfig) []string {
	raw, ok := c.extra[keyDNS]
	if !ok {
		if _, hasNets := c.extra[keyEndpoints]; !hasNets {
			return cfg.DNS
		}
	}
	var servers []string
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &servers)
	}
	return servers
}

// decodeMap reads a map kept as JSON; a missing or damaged one is empty.
func decodeMap(raw string) map[string]string {
	var m map[string]string
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &m)
	}
	return m
}
