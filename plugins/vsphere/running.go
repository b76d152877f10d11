package vsphere

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

var _ sdk.RunningContainers = (*Backend)(nil)

// PauseContainer suspends the containerVM: its guest stops where it is, memory and all, as VIC's design
// for pause had it (vSphere's SuspendVM).
func (b *Backend) PauseContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.paused():
		return nil, fmt.Errorf("container %s is already paused: %w", id, errdefs.ErrConflict)
	case !c.state().Running:
		return nil, fmt.Errorf("container %s is not running: %w", id, errdefs.ErrConflict)
	}
	vctx := changingOnly(ctx, c.ref)
	task, err := b.vmObject(c).Suspend(vctx)
	if err == nil {
		_, err = vtask.Wait(vctx, task)
	}
	if err != nil {
		return nil, fmt.Errorf("pause container %s: %w", id, classify(err, "suspend "+c.vmName))
	}
	if c, err = b.readVM(ctx, c.ref); err != nil {
		return nil, err
	}
	b.log.Info("paused containerVM", "container", id)
	b.publishContainer(c, "pause", nil)
	return b.info(c), nil
}

// UnpauseContainer powers the suspended containerVM on again: its guest goes on where it stopped.
func (b *Backend) UnpauseContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.paused() {
		return nil, fmt.Errorf("container %s is not paused: %w", id, errdefs.ErrConflict)
	}
	vctx := changingOnly(ctx, c.ref)
	task, err := b.vmObject(c).PowerOn(vctx)
	if err == nil {
		_, err = vtask.Wait(vctx, task)
	}
	if err != nil {
		return nil, fmt.Errorf("unpause container %s: %w", id, classify(err, "resume "+c.vmName))
	}
	if c, err = b.readVM(ctx, c.ref); err != nil {
		return nil, err
	}
	b.log.Info("unpaused containerVM", "container", id)
	b.publishContainer(c, "unpause", nil)
	return b.info(c), nil
}

// TopContainer asks the tether for the guest's process table.
func (b *Backend) TopContainer(ctx context.Context, id string, psArgs []string) (*models.ProcessList, error) {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := runningForTasks(c); err != nil {
		return nil, err
	}
	g, err := b.ctr.attach.guest(ctx, id, controlConnectWait)
	if err != nil {
		return nil, err
	}
	payload, _ := json.Marshal(wire.TopRequest{Args: psArgs})
	ok, reply, err := g.global(ctx, wire.RequestTop, payload)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", replyMessage(reply), errdefs.ErrInvalid)
	}
	var pt wire.ProcessTable
	if err := json.Unmarshal(reply, &pt); err != nil {
		return nil, fmt.Errorf("process table of container %s: %w: %w", id, errdefs.ErrSystem, err)
	}
	return &models.ProcessList{Titles: pt.Titles, Processes: pt.Processes}, nil
}

// ContainerStats asks the tether for a sample; a container that is not running, or is paused (its guest
// answers nothing), has its limits only.
func (b *Backend) ContainerStats(ctx context.Context, id string) (*models.ContainerStats, error) {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	idle := &models.ContainerStats{Read: new(string),
		CPU:    &models.CPUStats{OnlineCpus: c.cpus},
		Memory: &models.MemoryStats{Limit: c.memMB << 20},
		Pids:   &models.PidsStats{}}
	if runningForTasks(c) != nil {
		return idle, nil
	}
	g, err := b.ctr.attach.guest(ctx, id, controlConnectWait)
	if err != nil {
		return nil, err
	}
	ok, reply, err := g.global(ctx, wire.RequestStats, nil)
	if err != nil {
		return nil, err
	}
	var st wire.Stats
	if !ok || json.Unmarshal(reply, &st) != nil {
		return nil, fmt.Errorf("stats of container %s: %s: %w", id, replyMessage(reply), errdefs.ErrSystem)
	}
	return statsOf(&st), nil
}

// statsOf is the port layer's view of the tether's sample.
func statsOf(st *wire.Stats) *models.ContainerStats {
	read := rfc3339(st.Read)
	out := &models.ContainerStats{Read: &read,
		CPU: &models.CPUStats{TotalUsage: int64(st.CPU.Total), KernelUsage: int64(st.CPU.Kernel),
			UserUsage: int64(st.CPU.User), SystemUsage: int64(st.CPU.System), OnlineCpus: int64(st.CPU.Online)},
		Memory: &models.MemoryStats{Usage: int64(st.Memory.Usage), MaxUsage: int64(st.Memory.MaxUsage),
			Limit: int64(st.Memory.Limit)},
		Pids: &models.PidsStats{Current: int64(st.Pids.Current), Limit: int64(st.Pids.Limit)},
	}
	for _, n := range st.CPU.PerCPU {
		out.CPU.PerCPUUsage = append(out.CPU.PerCPUUsage, int64(n))
	}
	if len(st.Memory.Stats) > 0 {
		out.Memory.Stats = map[string]int64{}
		for k, v := range st.Memory.Stats {
			out.Memory.Stats[k] = int64(v)
		}
	}
	if len(st.Networks) > 0 {
		out.Networks = map[string]models.NetworkStats{}
		for name, n := range st.Networks {
			out.Networks[name] = models.NetworkStats{RxBytes: int64(n.RxBytes), RxPackets: int64(n.RxPackets),
				RxErrors: int64(n.RxErrors), RxDropped: int64(n.RxDropped), TxBytes: int64(n.TxBytes),
				TxPackets: int64(n.TxPackets), TxErrors: int64(n.TxErrors), TxDropped: int64(n.TxDropped)}
		}
	}
	for _, e := range st.Blkio {
		op := e.Op
		out.Blkio = append(out.Blkio, &models.BlkioEntry{Major: int64(e.Major), Minor: int64(e.Minor), Op: op,
			Bytes: int64(e.Bytes), Ios: int64(e.IOs)})
	}
	return out
}
