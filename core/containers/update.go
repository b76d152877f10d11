package containers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// minMemoryBytes is dockerd's floor for a memory limit.
const minMemoryBytes = 6 << 20

// Update is POST /containers/{id}/update: the resources a containerVM has (its vCPUs from NanoCpus or
// CpuCount, its memory from Memory) and the restart policy. The other cgroup knobs are recorded, as dockerd
// records them; a containerVM is bounded by its size alone. A running containerVM gets what its hypervisor
// adds hot, the rest at its next start, which the warnings say.
func (s *Service) Update(ctx context.Context, ref string, u container.UpdateConfig) (container.UpdateResponse, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return container.UpdateResponse{}, err
	}
	if u.Memory != 0 && u.Memory < minMemoryBytes {
		return container.UpdateResponse{}, dockermsg.MinimumMemory.Err()
	}
	host := *r.HostConfig
	applyResources(&host.Resources, u.Resources)
	if u.RestartPolicy.Name != "" {
		if r.HostConfig.AutoRemove && !u.RestartPolicy.IsNone() {
			return container.UpdateResponse{}, dockermsg.UpdateAutoRemove.Err()
		}
		host.RestartPolicy = u.RestartPolicy
	}
	if err := checkRestartPolicy(&host); err != nil {
		return container.UpdateResponse{}, err
	}
	warnings := []string{}
	cpus, mem := vmSize(&host)
	oldCPUs, oldMem := vmSize(r.HostConfig)
	if cpus != oldCPUs || mem != oldMem {
		want := &models.Resources{}
		if cpus != oldCPUs {
			want.Cpus = cpus
		}
		if mem != oldMem {
			want.MemoryMB = mem
		}
		res, err := s.pl.UpdateResources(ctx, r.ID, want)
		if err != nil {
			return container.UpdateResponse{}, err
		}
		warnings = append(warnings, res.Warnings...)
	} else {
		s.publishEvent(r, "update") // the backend reports it when the containerVM changes
	}
	data, err := json.Marshal(&host)
	if err != nil {
		return container.UpdateResponse{}, fmt.Errorf("encode the host config: %w: %w", errdefs.ErrInvalid, err)
	}
	if err := s.annotate(ctx, r.ID, func(a map[string]string) { a[annHostConfig] = string(data) }); err != nil {
		return container.UpdateResponse{}, err
	}
	s.log.Info("container updated", "container", r.ID, "cpus", cpus, "memoryMB", mem, "restart", host.RestartPolicy.Name)
	return container.UpdateResponse{Warnings: warnings}, nil
}

// applyResources sets in h the resources u gives (dockerd's update: zero values leave a field as it was).
func applyResources(h *container.Resources, u container.Resources) {
	set := func(dst *int64, v int64) {
		if v != 0 {
			*dst = v
		}
	}
	set(&h.Memory, u.Memory)
	set(&h.MemoryReservation, u.MemoryReservation)
	set(&h.MemorySwap, u.MemorySwap)
	set(&h.CPUShares, u.CPUShares)
	set(&h.CPUPeriod, u.CPUPeriod)
	set(&h.CPUQuota, u.CPUQuota)
	set(&h.CPURealtimePeriod, u.CPURealtimePeriod)
	set(&h.CPURealtimeRuntime, u.CPURealtimeRuntime)
	set(&h.CPUCount, u.CPUCount)
	if u.NanoCPUs != 0 {
		h.NanoCPUs = u.NanoCPUs
		h.CPUCount = 0 // --cpus replaces a count given before
	}
	if u.CpusetCpus != "" {
		h.CpusetCpus = u.CpusetCpus
	}
	if u.CpusetMems != "" {
		h.CpusetMems = u.CpusetMems
	}
	if u.BlkioWeight != 0 {
		h.BlkioWeight = u.BlkioWeight
	}
	if u.PidsLimit != nil {
		h.PidsLimit = u.PidsLimit
	}
}
