package engine

import (
	"context"
	"runtime"
	"strconv"

	"github.com/moby/moby/api/types/system"
)

// Version is `docker version`'s server half: the engine's build and API range, and the backend plugin as a
// component. The plugin being down does not fail it; the component then says so.
func (e *Engine) Version(ctx context.Context) (system.VersionResponse, error) {
	kernel := kernelVersion()
	v := system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "vice Engine"},
		Version:       e.build.Version,
		APIVersion:    MaxAPIVersion,
		MinAPIVersion: MinAPIVersion,
		Os:            "linux",
		Arch:          runtime.GOARCH,
		GitCommit:     e.build.GitCommit,
		GoVersion:     runtime.Version(),
		KernelVersion: kernel,
		BuildTime:     e.build.BuildTime,
	}
	v.Components = []system.ComponentVersion{{
		Name:    "Engine",
		Version: e.build.Version,
		Details: map[string]string{
			"ApiVersion":    MaxAPIVersion,
			"MinAPIVersion": MinAPIVersion,
			"GitCommit":     e.build.GitCommit,
			"GoVersion":     runtime.Version(),
			"Os":            "linux",
			"Arch":          runtime.GOARCH,
			"KernelVersion": kernel,
			"Experimental":  "false",
			"BuildTime":     e.build.BuildTime,
		},
	}}
	if e.Backend() != "" {
		v.Components = append(v.Components, e.pluginComponent(ctx))
	}
	return v, nil
}

// pluginComponent describes the backend plugin from the plugin host's status and the backend's own answer.
// What the backend says of itself (its version, the vSphere it serves) is the same for as long as its process
// runs, so it is asked once per plugin process: the VCH's info reads the pool, the hosts and the datastores.
func (e *Engine) pluginComponent(ctx context.Context) system.ComponentVersion {
	c := system.ComponentVersion{Name: "vice-plugin-" + e.Backend(), Details: map[string]string{}}
	p, known := e.pluginInfo()
	if known {
		c.Details["ApiVersion"] = strconv.Itoa(p.APIVersion)
		c.Details["Running"] = strconv.FormatBool(p.Running)
		c.Details["Restarts"] = strconv.Itoa(p.Restarts)
	}
	id := e.backendID.Load()
	if id == nil || !known || !p.Running || id.restarts != p.Restarts {
		vch, err := e.pl.Info(ctx)
		if err != nil {
			c.Details["Error"] = err.Error()
			return c
		}
		id = &backendIdentity{restarts: p.Restarts, version: vch.BackendVersion}
		if vch.Vsphere != nil {
			id.vsphere = vch.Vsphere.FullName
		}
		if known && p.Running {
			e.backendID.Store(id)
		}
	}
	c.Version = id.version
	if id.vsphere != "" {
		c.Details["vSphere"] = id.vsphere
	}
	return c
}

// backendIdentity is what the backend plugin says of itself, for the process the plugin host restarted
// restarts times.
type backendIdentity struct {
	restarts         int
	version, vsphere string
}
