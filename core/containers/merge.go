package containers

import (
	"maps"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/core/internal/dockermsg"
)

// Docker's stop defaults.
const (
	defaultStopSignal  = "SIGTERM"
	defaultStopTimeout = 10
)

// mergeImage completes the client's config from the image's, with the Docker daemon's rules: an entrypoint
// given resets the image's command; the image's env entries stay unless the client sets the same key (the
// client's come first); labels, exposed ports and volumes are unions with the client winning; user, working
// directory and stop signal come from the image when not given.
func mergeImage(c *container.Config, img *dockerspec.DockerOCIImageConfig) {
	if c.User == "" {
		c.User = img.User
	}
	if c.WorkingDir == "" {
		c.WorkingDir = img.WorkingDir
	}
	if c.StopSignal == "" {
		c.StopSignal = img.StopSignal
	}
	if len(c.Entrypoint) == 0 {
		if len(c.Cmd) == 0 {
			c.Cmd = img.Cmd
			c.ArgsEscaped = img.ArgsEscaped
		}
		if c.Entrypoint == nil {
			c.Entrypoint = img.Entrypoint
		}
	}
	c.Env = mergeEnv(c.Env, img.Env)
	if len(img.Labels) > 0 {
		labels := maps.Clone(img.Labels)
		maps.Copy(labels, c.Labels)
		c.Labels = labels
	}
	if len(img.ExposedPorts) > 0 {
		if c.ExposedPorts == nil {
			c.ExposedPorts = network.PortSet{}
		}
		for p := range img.ExposedPorts {
			if port, err := network.ParsePort(p); err == nil {
				c.ExposedPorts[port] = struct{}{}
			}
		}
	}
	if len(img.Volumes) > 0 {
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for v := range img.Volumes {
			c.Volumes[v] = struct{}{}
		}
	}
	if c.Healthcheck == nil && img.Healthcheck != nil {
		c.Healthcheck = img.Healthcheck
	}
	if len(c.OnBuild) == 0 {
		c.OnBuild = img.OnBuild
	}
	if len(c.Shell) == 0 {
		c.Shell = img.Shell
	}
}

// mergeEnv keeps the client's entries, then the image's whose keys the client did not set.
func mergeEnv(user, image []string) []string {
	if len(user) == 0 {
		return image
	}
	set := map[string]bool{}
	for _, e := range user {
		k, _, _ := strings.Cut(e, "=")
		set[k] = true
	}
	out := append([]string(nil), user...)
	for _, e := range image {
		k, _, _ := strings.Cut(e, "=")
		if !set[k] {
			out = append(out, e)
		}
	}
	return out
}

// command is the process to run: the entrypoint followed by the command.
func command(c *container.Config) (string, []string, error) {
	entrypoint := c.Entrypoint
	if len(entrypoint) == 1 && entrypoint[0] == "" {
		entrypoint = nil // --entrypoint "": the image's entrypoint reset, the command runs alone
	}
	argv := append(append([]string(nil), entrypoint...), c.Cmd...)
	if len(argv) == 0 || argv[0] == "" {
		return "", nil, dockermsg.NoCommand.Err()
	}
	return argv[0], argv[1:], nil
}

// VM sizing: VIC's defaults, the client's limits when given.
const (
	defaultCPUs     = 2
	defaultMemoryMB = 2048
	minMemoryMB     = 512
	maxCPUs         = 32
	maxMemoryMB     = 1 << 20 // 1 TiB
)

// vmSize turns Docker's resource limits into the containerVM's vCPUs and memory.
func vmSize(h *container.HostConfig) (cpus, memoryMB int64) {
	cpus, memoryMB = defaultCPUs, defaultMemoryMB
	switch {
	case h.NanoCPUs > 0:
		cpus = (h.NanoCPUs + 1e9 - 1) / 1e9
	case h.CPUCount > 0:
		cpus = h.CPUCount
	}
	cpus = min(max(cpus, 1), maxCPUs)
	if h.Memory > 0 {
		memoryMB = (h.Memory + 1<<20 - 1) >> 20
		memoryMB = min(max(memoryMB, minMemoryMB), maxMemoryMB)
	}
	return cpus, memoryMB
}

// checkHost refuses the host features a containerVM cannot honour with a clear 400, rather than running a
// container that silently lacks them; there are none left: mounts (mounts.go) and networks are served.
// Privileges, capabilities, security options, cgroup limits beyond CPU and memory, log drivers and DNS
// options of the host are accepted and ignored: a containerVM is its own kernel and the endpoint keeps the
// logs. Restart policies are the endpoint's (restart.go).
func checkHost(h *container.HostConfig) error {
	return nil
}
