package containers

import (
	"context"
	"fmt"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
)

// zeroTime is how Docker shows a time that never was.
const zeroTime = "0001-01-01T00:00:00Z"

// Inspect is GET /containers/{id}/json.
func (s *Service) Inspect(ctx context.Context, ref string) (container.InspectResponse, error) {
	r, err := s.resolveShared(ctx, ref)
	if err != nil {
		return container.InspectResponse{}, err
	}
	s.logs.remember(r.ID, r.Config.Tty, r.info.LogFile) // a client's next request is often for its logs (docker logs)
	s.decorate(r)
	st := r.state()
	return container.InspectResponse{
		ID:      r.ID,
		Created: r.Created,
		Path:    r.process.Path,
		Args:    nonNil(r.process.Args),
		State: &container.State{
			Status: container.ContainerState(r.dockerStatus()), Running: st.Running || r.restartPending,
			Paused: st.Paused, Restarting: r.restartPending, Pid: int(st.Pid),
			ExitCode: int(st.ExitCode), Error: st.Error, StartedAt: orZero(st.StartedAt), FinishedAt: orZero(st.FinishedAt),
			Health: r.healthNow,
		},
		Image: r.ImageID,
		// The output log's records are json-file's lines ({"log","stream","time"}): where this machine has
		// the file, tools that read a container's LogPath can read it.
		LogPath:      r.info.LogFile,
		Name:         "/" + r.Name,
		RestartCount: r.restartCount(),
		ExecIDs:      execIDs(r),
		Driver:       "vsphere",
		Platform:     "linux",
		HostConfig:   hostConfigView(r.HostConfig),
		GraphDriver: &storage.DriverData{Name: "vsphere", Data: map[string]string{
			"Disk": r.info.Disk, "Layer": r.spec.Layer, "VM": r.info.VMName}},
		Mounts: s.mountPoints(ctx, r),
		Config: r.Config,
		NetworkSettings: &container.NetworkSettings{
			SandboxID: sandboxID(r), Ports: portMap(r), Networks: networkViews(r),
		},
	}, nil
}

// commandLine is a container's command as docker ps shows it: dockerd quotes each argument that has a space
// in single quotes ("sh -c 'echo hi'"), so scripts matching on it see the same.
func commandLine(path string, args []string) string {
	parts := []string{path}
	for _, a := range args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// dockerStatus is the status Docker shows: the backend's, or restarting while a restart waits.
func (r *record) dockerStatus() string {
	if r.restartPending {
		return "restarting"
	}
	return r.status()
}

// execIDs are the exec sessions the containerVM records (null without any, as dockerd shows it).
func execIDs(r *record) []string {
	if len(r.info.Tasks) == 0 {
		return nil
	}
	return r.info.Tasks
}

// sandboxID names the container's network stack while it runs: its own VM's, so derived from its ID.
func sandboxID(r *record) string {
	if !r.running() || len(r.info.Endpoints) == 0 {
		return ""
	}
	return r.ID
}

// defaultLogDriver is dockerd's default logging driver. A containerVM's output log keeps each line's stream
// and time, as json-file does, and `docker logs` reads it: clients that read logs only from drivers that
// keep them (the Python SDK's containers.run) must see this name.
const defaultLogDriver = "json-file"

// hostConfigView is the host config as dockerd shows it: the logging driver filled in when the client named
// none, as dockerd does at create.
func hostConfigView(h *container.HostConfig) *container.HostConfig {
	out := *h
	if out.LogConfig.Type == "" {
		out.LogConfig.Type = defaultLogDriver
	}
	if out.LogConfig.Config == nil {
		out.LogConfig.Config = map[string]string{}
	}
	return &out
}

func orZero(t string) string {
	if t == "" {
		return zeroTime
	}
	return t
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// statusText is the STATUS column of `docker ps`: "Created", "Up 3 seconds", "Exited (0) 2 minutes ago".
func statusText(r *record, now time.Time) string {
	st := r.state()
	switch r.dockerStatus() {
	case "running", "paused":
		up := "Up Less than a second"
		if t, err := time.Parse(time.RFC3339Nano, st.StartedAt); err == nil {
			up = "Up " + units.HumanDuration(now.Sub(t))
		}
		switch {
		case st.Paused:
			return up + " (Paused)"
		case r.healthNow == nil:
			return up
		case r.healthNow.Status == container.Starting:
			return up + " (health: starting)"
		}
		return up + " (" + string(r.healthNow.Status) + ")"
	case "restarting":
		if t, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil {
			return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(t)))
		}
		return fmt.Sprintf("Restarting (%d)", st.ExitCode)
	case "exited":
		if t, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil {
			return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(t)))
		}
		return fmt.Sprintf("Exited (%d)", st.ExitCode)
	case "created":
		return "Created"
	default:
		return strings.ToUpper(r.status()[:1]) + r.status()[1:]
	}
}

// summary is one line of `docker ps`.
func summary(r *record, now time.Time) container.Summary {
	cmd := commandLine(r.process.Path, r.process.Args)
	labels := r.Config.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	sum := container.Summary{
		ID: r.ID, Names: []string{"/" + r.Name}, Image: r.Image, ImageID: r.ImageID, Command: cmd,
		Created: r.createdAt().Unix(), Ports: portSummaries(r), Labels: labels,
		State: container.ContainerState(r.dockerStatus()), Status: statusText(r, now),
		NetworkSettings: &container.NetworkSettingsSummary{Networks: networkViews(r)},
		Mounts:          []container.MountPoint{},
	}
	if h := r.healthNow; h != nil {
		sum.Health = &container.HealthSummary{Status: h.Status, FailingStreak: h.FailingStreak}
	}
	sum.HostConfig.NetworkMode = string(r.HostConfig.NetworkMode)
	if sum.HostConfig.NetworkMode == "" {
		sum.HostConfig.NetworkMode = network.NetworkBridge
	}
	return sum
}
