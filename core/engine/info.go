package engine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"

	"github.com/vice-engine/vice/core/volumes"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// SystemInfo is `docker info`: the VCH seen as one Docker host. Its capacity is the VCH's resource pool, its
// operating system the vSphere product behind it.
func (e *Engine) SystemInfo(ctx context.Context) (system.Info, error) {
	vch, err := e.pl.Info(ctx)
	if err != nil {
		return system.Info{}, fmt.Errorf("VCH info: %w", err)
	}
	vs := vch.Vsphere
	if vs == nil {
		vs = &models.VSphereInfo{}
	}
	pool := vch.Pool
	if pool == nil {
		pool = &models.PoolInfo{Path: new(string)}
	}
	info := system.Info{
		ID:                 engineID(vs.InstanceUUID, vch.ID, deref(vch.Name)),
		Driver:             "vice-" + deref(vch.Backend),
		DriverStatus:       driverStatus(vch, vs, pool),
		Plugins:            system.PluginsInfo{Volume: []string{volumes.Driver}, Network: []string{}, Authorization: nil, Log: []string{}},
		MemoryLimit:        true,
		CPUShares:          true,
		Debug:              e.debug,
		NFd:                openFiles(),
		NGoroutines:        runtime.NumGoroutine(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		CgroupDriver:       "none",
		NEventsListener:    e.events.listeners(),
		KernelVersion:      kernelVersion(),
		OperatingSystem:    operatingSystem(vs),
		OSVersion:          vs.Version,
		OSType:             "linux",
		Architecture:       "x86_64",
		NCPU:               int(pool.Cpus),
		MemTotal:           pool.MemoryCapacityBytes,
		Name:               deref(vch.Name),
		Labels:             []string{},
		ServerVersion:      e.build.Version,
		Runtimes:           e.runtimes(),
		DefaultRuntime:     e.Backend(),
		Swarm:              swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		LiveRestoreEnabled: true, // containerVMs run on while the endpoint restarts
		SecurityOptions:    []string{},
		CDISpecDirs:        []string{},
		Warnings:           []string{},
	}
	reg := e.images.Registry()
	rc := reg.ServiceConfig()
	info.RegistryConfig = &rc
	if wl := reg.Whitelist(); len(wl) > 0 { // VIC showed its allow-list beside the storage driver's lines
		info.DriverStatus = append(info.DriverStatus, [2]string{"Registry Whitelist Mode", "enabled"},
			[2]string{"Whitelisted Registries", strings.Join(wl, ", ")})
	}
	if n, err := e.images.Count(ctx); err == nil {
		info.Images = n
	} else {
		e.log.Debug("image count unavailable", "err", err)
	}
	if total, running, stopped, err := e.containers.Counts(ctx); err == nil {
		info.Containers, info.ContainersRunning, info.ContainersStopped = total, running, stopped
	} else {
		e.log.Debug("container counts unavailable", "err", err)
	}
	return info, nil
}

// operatingSystem names the vSphere product, as VIC did ("VMware vCenter Server 8.0.2 build-22617221 (vice)").
func operatingSystem(vs *models.VSphereInfo) string {
	name := vs.FullName
	if name == "" {
		name = vs.Name
	}
	if name == "" {
		return "vice"
	}
	return name + " (vice)"
}

// driverStatus lists the VCH's pool, its limits and usage, and its datastores, hosts and plugins.
func driverStatus(vch *models.VCHInfo, vs *models.VSphereInfo, pool *models.PoolInfo) [][2]string {
	backend := deref(vch.Backend)
	if vch.BackendVersion != "" {
		backend += " " + vch.BackendVersion
	}
	st := [][2]string{
		{"Backend", backend},
		{"VCH", deref(vch.Name)},
		{"VCH pool", deref(pool.Path)},
		{"VCH CPU limit", mhzLimit(pool.CPULimitMhz)},
		{"VCH CPU capacity", mhz(pool.CPUCapacityMhz)},
		{"VCH CPU usage", mhz(pool.CPUUsageMhz)},
		{"VCH memory limit", bytesLimit(pool.MemoryLimitBytes)},
		{"VCH memory capacity", units.BytesSize(float64(pool.MemoryCapacityBytes))},
		{"VCH memory usage", units.BytesSize(float64(pool.MemoryUsageBytes))},
		{"VMware product", vs.Name},
		{"VMware version", versionBuild(vs.Version, vs.Build)},
		{"VMware API", (vs.APIType + " " + vs.APIVersion)},
		{"vSphere target", vs.URL},
		{"Datastores", strconv.Itoa(len(vch.Datastores))},
	}
	for _, ds := range vch.Datastores {
		st = append(st, [2]string{" " + ds.Name, fmt.Sprintf("%s free of %s (%s)",
			units.BytesSize(float64(ds.FreeBytes)), units.BytesSize(float64(ds.CapacityBytes)), ds.Type)})
	}
	// VIC listed the volume stores by label among the storage driver's lines.
	var labels []string
	for _, vs := range vch.VolumeStores {
		labels = append(labels, vs.Name)
	}
	st = append(st, [2]string{"VolumeStores", strings.Join(labels, " ")})
	for _, vs := range vch.VolumeStores {
		st = append(st, [2]string{" " + vs.Name, vs.URL})
	}
	st = append(st, [2]string{"Hosts", strconv.Itoa(len(vch.Hosts))})
	for _, h := range vch.Hosts {
		state := h.ConnectionState
		if h.InMaintenanceMode {
			state += ", maintenance mode"
		}
		st = append(st, [2]string{" " + h.Name, fmt.Sprintf("%d x %s, %s, %s",
			h.CPUCores, mhz(h.CPUMhz), units.BytesSize(float64(h.MemoryBytes)), state)})
	}
	return st
}

// runtimes lists the registered backend plugins: in vice a backend is what runs containers.
func (e *Engine) runtimes() map[string]system.RuntimeWithStatus {
	rts := map[string]system.RuntimeWithStatus{}
	for _, p := range e.plugins() {
		rts[p.Name] = system.RuntimeWithStatus{
			Runtime: system.Runtime{Path: p.Path, Type: "io.vice.plugin.v" + strconv.Itoa(p.APIVersion)},
			Status: map[string]string{
				"running":  strconv.FormatBool(p.Running),
				"pid":      strconv.Itoa(p.PID),
				"restarts": strconv.Itoa(p.Restarts),
			},
		}
	}
	return rts
}

// engineID is stable for one VCH on one vSphere, formatted as Docker formats engine IDs (a UUID).
func engineID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	s := h.Sum(nil)
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

func mhz(v int64) string { return strconv.FormatInt(v, 10) + " MHz" }

func mhzLimit(v int64) string {
	if v < 0 {
		return "unlimited"
	}
	return mhz(v)
}

func bytesLimit(v int64) string {
	if v < 0 {
		return "unlimited"
	}
	return units.BytesSize(float64(v))
}

func versionBuild(version, build string) string {
	if build == "" {
		return version
	}
	return version + " build-" + build
}

func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(fds)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
