package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Create is POST /containers/create: it resolves the image (a missing one is "No such image", which makes
// `docker run` pull and retry), merges its config with the client's, and creates the containerVM.
func (s *Service) Create(ctx context.Context, name string, req container.CreateRequest) (container.CreateResponse, error) {
	cfg := req.Config
	if cfg == nil {
		return container.CreateResponse{}, fmt.Errorf("config cannot be empty in order to create a container: %w", errdefs.ErrInvalid)
	}
	cfg = ptr(*cfg)
	host := req.HostConfig
	if host == nil {
		host = &container.HostConfig{}
	}
	if err := checkHost(host); err != nil {
		return container.CreateResponse{}, err
	}
	if err := checkRestartPolicy(host); err != nil {
		return container.CreateResponse{}, err
	}
	if err := checkHealthcheck(cfg.Healthcheck); err != nil {
		return container.CreateResponse{}, err
	}
	if name != "" {
		var err error
		if name, err = checkName(name); err != nil {
			return container.CreateResponse{}, err
		}
	}
	if cfg.Image == "" {
		return container.CreateResponse{}, fmt.Errorf("no image specified: %w", errdefs.ErrInvalid)
	}
	img, err := s.images.Resolve(ctx, cfg.Image)
	if err != nil {
		return container.CreateResponse{}, err
	}
	mergeImage(cfg, img.Config)
	if _, _, err := command(cfg); err != nil {
		return container.CreateResponse{}, err
	}

	eps, err := s.endpoints(ctx, host, req.NetworkingConfig)
	if err != nil {
		return container.CreateResponse{}, err
	}
	ports, err := portBindings(cfg, host)
	if err != nil {
		return container.CreateResponse{}, err
	}
	net := netSpec{endpoints: eps, ports: ports}

	id := newID()
	for attempt := 0; ; attempt++ {
		resp, err := s.createVM(ctx, id, name, cfg, host, img, net)
		// A generated name that another endpoint's container has: pick another.
		if name == "" && errdefs.Is(err, errdefs.ErrConflict) && attempt < 3 {
			continue
		}
		return resp, err
	}
}

// createVM makes the containerVM of a merged config under name (generated when empty).
func (s *Service) createVM(ctx context.Context, id, name string, cfg *container.Config, host *container.HostConfig,
	img images.Resolved, net netSpec) (container.CreateResponse, error) {
	release, name, err := s.reserveName(name, id)
	if err != nil {
		return container.CreateResponse{}, err
	}
	defer release()
	path, args, err := command(cfg)
	if err != nil {
		return container.CreateResponse{}, err
	}
	cfg = ptr(*cfg)
	if cfg.Hostname == "" {
		cfg.Hostname = id[:12]
	}
	created := time.Now().UTC().Format(time.RFC3339Nano)
	ann, err := annotations(cfg, host, img.ID, created)
	if err != nil {
		return container.CreateResponse{}, err
	}
	hosts, err := extraHosts(host.ExtraHosts)
	if err != nil {
		return container.CreateResponse{}, err
	}
	cpus, mem := vmSize(host)
	mounts, made, err := s.mountsOf(ctx, cfg, host)
	if err != nil {
		return container.CreateResponse{}, err
	}
	spec := &models.ContainerSpec{
		ID: &id, Name: &name, Layer: img.TopLayer,
		Process: &models.Process{Path: path, Args: args, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User,
			Tty: cfg.Tty, OpenStdin: cfg.OpenStdin, StdinOnce: cfg.StdinOnce},
		Hostname: cfg.Hostname, Domainname: cfg.Domainname,
		DNS:        &models.DNSConfig{Servers: addrs(host.DNS), Search: host.DNSSearch, Options: host.DNSOptions},
		ExtraHosts: hosts,
		Resources:  &models.Resources{Cpus: cpus, MemoryMB: mem},
		StopSignal: cfg.StopSignal,
		Labels:     cfg.Labels, Annotations: ann,
		Endpoints: net.endpoints, Ports: net.ports,
		// A client that means to attach (docker run without -d) attaches before it starts: the process waits
		// for the first attach so that no output is lost. A start without an attach releases it (start.go).
		HoldForAttach: cfg.AttachStdin || cfg.AttachStdout || cfg.AttachStderr,
		Mounts:        mounts,
	}
	if len(spec.DNS.Servers) == 0 {
		spec.DNS.Servers = s.dns
	}
	if cfg.StopTimeout != nil {
		spec.StopTimeout = ptr(int64(*cfg.StopTimeout))
	}
	if _, err := s.pl.CreateContainer(ctx, spec); err != nil {
		s.removeVolumes(context.WithoutCancel(ctx), made)
		if errdefs.Is(err, errdefs.ErrConflict) {
			if other, rerr := s.resolve(ctx, name); rerr == nil && other.ID != id {
				return container.CreateResponse{}, nameConflict(name, other.ID)
			}
		}
		return container.CreateResponse{}, err
	}
	s.names.remember(name, id)
	if healthcheckOf(cfg) == nil {
		s.healthless.Store(id, true) // its start events need no read for a health monitor
	}
	s.log.Info("container created", "container", id, "name", name, "image", cfg.Image)
	return container.CreateResponse{ID: id, Warnings: []string{}}, nil
}

// netSpec is where the container goes on the networks: its endpoints and published ports.
type netSpec struct {
	endpoints []*models.Endpoint
	ports     []*models.PortBinding
}

// annotations are Docker's records of the container, kept with the containerVM.
func annotations(cfg *container.Config, host *container.HostConfig, imageID, created string) (map[string]string, error) {
	c, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode the container config: %w: %w", errdefs.ErrInvalid, err)
	}
	h, err := json.Marshal(host)
	if err != nil {
		return nil, fmt.Errorf("encode the host config: %w: %w", errdefs.ErrInvalid, err)
	}
	return map[string]string{annImage: cfg.Image, annImageID: imageID, annConfig: string(c),
		annHostConfig: string(h), annCreated: created}, nil
}

// reserveName claims name (a generated one when empty) for id until release is called, against other
// creates and renames of this endpoint; the backend refuses a name its inventory already has, which
// createVM turns into Docker's conflict. Listing the inventory here would cost every create a full read.
func (s *Service) reserveName(name, id string) (release func(), _ string, _ error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	taken := func(n string) bool { _, ok := s.reserved[n]; return ok }
	if name == "" {
		name = generateName(taken)
	} else if taken(name) {
		return nil, "", nameConflict(name, s.reserved[name])
	}
	s.reserved[name] = id
	return func() {
		s.mu.Lock()
		delete(s.reserved, name)
		s.mu.Unlock()
	}, name, nil
}

// extraHosts turns Docker's "name:address" (or "name=address") entries (--add-host) into the spec's; the
// address may be an IPv6 one, so only the first separator counts.
func extraHosts(entries []string) ([]*models.HostEntry, error) {
	var out []*models.HostEntry
	for _, e := range entries {
		sep := ":"
		if strings.Contains(e, "=") {
			sep = "="
		}
		name, ip, ok := strings.Cut(e, sep)
		if !ok || name == "" || ip == "" {
			return nil, fmt.Errorf("invalid extra host %q: expected name:address or name=address: %w", e, errdefs.ErrInvalid)
		}
		out = append(out, &models.HostEntry{Hostname: ptr(name), IP: ptr(ip)})
	}
	return out, nil
}

func addrs(list []netip.Addr) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.String())
	}
	return out
}

func ptr[T any](v T) *T { return &v }
