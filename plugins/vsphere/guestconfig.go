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

// checkSpec refuses what the backend cannot honour. Network endpoints are not served yet; mounts are checked
// by checkMounts (mounts.go).
func checkSpec(spec *models.ContainerSpec) error {
	if spec.Process == nil || spec.Process.Path == "" {
		return fmt.Errorf("a container spec needs a process with a path: %w", errdefs.ErrInvalid)
	}
	if len(spec.Endpoints) > 0 {
		return fmt.Errorf("network endpoints: %w", errdefs.ErrNotImplemented)
	}
	if len(spec.Ports) > 0 {
		return fmt.Errorf("published ports: %w", errdefs.ErrNotImplemented)
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

// guestConfig is the tether's configuration of spec, with its mounts as planMounts resolved them.
func guestConfig(spec *models.ContainerSpec, id, name string, mounts []wire.Mount) wire.ContainerConfig {
	p := spec.Process
	cfg := wire.ContainerConfig{
		ID: id, Name: name, Hostname: spec.Hostname, Domainname: spec.Domainname,
		Path: p.Path, Args: p.Args, Env: p.Env, WorkingDir: p.WorkingDir, User: p.User,
		Tty: p.Tty, OpenStdin: p.OpenStdin, StdinOnce: p.StdinOnce, RunBlock: spec.HoldForAttach, Mounts: mounts,
	}
	if cfg.Hostname == "" {
		cfg.Hostname = id[:shortIDLength]
	}
	if d := spec.DNS; d != nil {
		cfg.DNS, cfg.DNSSearch, cfg.DNSOptions = d.Servers, d.Search, d.Options
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
	if len(cfg.DNS)+len(cfg.DNSSearch)+len(cfg.DNSOptions) > 0 {
		s.DNS = &models.DNSConfig{Servers: cfg.DNS, Search: cfg.DNSSearch, Options: cfg.DNSOptions}
	}
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

// decodeMap reads a map kept as JSON; a missing or damaged one is empty.
func decodeMap(raw string) map[string]string {
	var m map[string]string
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &m)
	}
	return m
}
