package containers

import (
	"context"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// statsInterval is dockerd's: one sample a second.
const statsInterval = time.Second

// StatsOptions are GET /containers/{id}/stats's parameters.
type StatsOptions struct {
	// Stream sends a sample every second until the client goes away; without it one sample is sent.
	Stream bool
	// OneShot sends that one sample at once, without the second it takes to fill in the previous CPU
	// figures.
	OneShot bool
}

// Stats is GET /containers/{id}/stats: samples of the guest's usage in Docker's JSON, each with the previous
// sample's CPU figures so a rate can be computed. A container that is not running gives samples with its
// limits only, as dockerd gives zeroed ones.
func (s *Service) Stats(ctx context.Context, ref string, o StatsOptions, send func(*container.StatsResponse) error) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	var prev *container.StatsResponse
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	first := true
	for {
		sample, err := s.pl.ContainerStats(ctx, r.ID)
		if err != nil {
			return err
		}
		cur := statsResponse(r, sample)
		if prev != nil {
			cur.PreRead, cur.PreCPUStats = prev.Read, prev.CPUStats
		}
		// A sample without a previous one has no rate: dockerd waits a second for the second one unless told
		// one-shot (a container not running has none to wait for).
		if !first || o.Stream || o.OneShot || cur.Read.IsZero() {
			if err := send(cur); err != nil || !o.Stream {
				return err
			}
		}
		first, prev = false, cur
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// statsResponse is the port layer's sample in Docker's JSON.
func statsResponse(r *record, st *models.ContainerStats) *container.StatsResponse {
	out := &container.StatsResponse{ID: r.ID, Name: "/" + r.Name, OSType: "linux"}
	if st.Read != nil && *st.Read != "" {
		out.Read, _ = time.Parse(time.RFC3339Nano, *st.Read)
	}
	if c := st.CPU; c != nil {
		out.CPUStats = container.CPUStats{
			CPUUsage: container.CPUUsage{TotalUsage: uint64(c.TotalUsage), UsageInKernelmode: uint64(c.KernelUsage),
				UsageInUsermode: uint64(c.UserUsage)},
			SystemUsage: uint64(c.SystemUsage), OnlineCPUs: uint32(c.OnlineCpus),
		}
		for _, n := range c.PerCPUUsage {
			out.CPUStats.CPUUsage.PercpuUsage = append(out.CPUStats.CPUUsage.PercpuUsage, uint64(n))
		}
	}
	if m := st.Memory; m != nil {
		out.MemoryStats = container.MemoryStats{Usage: uint64(m.Usage), MaxUsage: uint64(m.MaxUsage), Limit: uint64(m.Limit)}
		if len(m.Stats) > 0 {
			out.MemoryStats.Stats = map[string]uint64{}
			for k, v := range m.Stats {
				out.MemoryStats.Stats[k] = uint64(v)
			}
		}
	}
	if p := st.Pids; p != nil {
		out.PidsStats = container.PidsStats{Current: uint64(p.Current), Limit: uint64(p.Limit)}
	}
	if len(st.Networks) > 0 {
		out.Networks = map[string]container.NetworkStats{}
		for name, n := range st.Networks {
			out.Networks[name] = container.NetworkStats{RxBytes: uint64(n.RxBytes), RxPackets: uint64(n.RxPackets),
				RxErrors: uint64(n.RxErrors), RxDropped: uint64(n.RxDropped), TxBytes: uint64(n.TxBytes),
				TxPackets: uint64(n.TxPackets), TxErrors: uint64(n.TxErrors), TxDropped: uint64(n.TxDropped)}
		}
	}
	for _, e := range st.Blkio {
		entry := container.BlkioStatEntry{Major: uint64(e.Major), Minor: uint64(e.Minor), Op: e.Op}
		entry.Value = uint64(e.Bytes)
		out.BlkioStats.IoServiceBytesRecursive = append(out.BlkioStats.IoServiceBytesRecursive, entry)
		entry.Value = uint64(e.Ios)
		out.BlkioStats.IoServicedRecursive = append(out.BlkioStats.IoServicedRecursive, entry)
	}
	return out
}
