package vsphere

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// keyPendingResources holds a size the containerVM takes at its next start (JSON models.Resources): what a
// running VM could not take hot.
const keyPendingResources = wire.ConfigPrefix + "resources.pending"

// The bounds of a containerVM's size: vSphere's maximum vCPUs of a VM, and a memory floor a guest boots in.
const (
	maxCPUs     = 768
	minMemoryMB = 4
	maxMemoryMB = 24 << 20
)

// UpdateResources resizes the containerVM. A VM that is off takes the new size at once; a running one takes
// what vSphere adds hot (more vCPUs, more memory, when hot add is enabled for it), and the rest waits in
// keyPendingResources for its next start.
func (b *Backend) UpdateResources(ctx context.Context, id string, r *models.Resources) (*models.ResourcesUpdate, error) {
	if r == nil || r.Cpus < 0 || r.MemoryMB < 0 || r.Cpus > maxCPUs || r.MemoryMB > maxMemoryMB ||
		(r.MemoryMB > 0 && r.MemoryMB < minMemoryMB) {
		return nil, fmt.Errorf("resources %+v: vCPUs up to %d and memory from %d to %d MB: %w", r, maxCPUs,
			minMemoryMB, maxMemoryMB, errdefs.ErrInvalid)
	}
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	spec, pending, warnings := resize(c, r)
	encoded := ""
	if pending.Cpus > 0 || pending.MemoryMB > 0 {
		data, _ := json.Marshal(pending)
		encoded = string(data)
	}
	spec.ExtraConfig = []types.BaseOptionValue{&types.OptionValue{Key: keyPendingResources, Value: encoded}}
	if err := b.reconfigure(ctx, c, spec); err != nil {
		return nil, fmt.Errorf("resize container %s: %w", id, err)
	}
	if c, err = b.readVM(ctx, c.ref); err != nil {
		return nil, err
	}
	b.publishContainer(c, "update", nil)
	out := &models.ResourcesUpdate{Container: b.info(c), Warnings: warnings}
	if encoded != "" {
		out.Pending = pending
	}
	return out, nil
}

// resize decides what changes now (the reconfigure spec) and what waits for the next start.
func resize(c *containerVM, r *models.Resources) (types.VirtualMachineConfigSpec, *models.Resources, []string) {
	var spec types.VirtualMachineConfigSpec
	pending := c.pendingResources()
	if pending == nil {
		pending = &models.Resources{}
	}
	warnings := []string{}
	why := func(hot bool, what string) string {
		switch {
		case c.paused():
			return "it is suspended"
		case !hot:
			return "hot add is not enabled for it"
		}
		return "vSphere adds " + what + " to a running VM but does not remove any"
	}
	if r.Cpus > 0 {
		switch {
		case r.Cpus == c.cpus:
			pending.Cpus = 0
		case !c.on() || (r.Cpus > c.cpus && c.hotCPU && !c.paused()):
			spec.NumCPUs, pending.Cpus = int32(r.Cpus), 0
		default:
			pending.Cpus = r.Cpus
			warnings = append(warnings, fmt.Sprintf("the containerVM runs with %d vCPUs and gets %d at its next start (%s)",
				c.cpus, r.Cpus, why(c.hotCPU, "vCPUs")))
		}
	}
	if r.MemoryMB > 0 {
		switch {
		case r.MemoryMB == c.memMB:
			pending.MemoryMB = 0
		case !c.on() || (r.MemoryMB > c.memMB && c.hotMemory && !c.paused()):
			spec.MemoryMB, pending.MemoryMB = r.MemoryMB, 0
		default:
			pending.MemoryMB = r.MemoryMB
			warnings = append(warnings, fmt.Sprintf("the containerVM runs with %d MB of memory and gets %d MB at its next start (%s)",
				c.memMB, r.MemoryMB, why(c.hotMemory, "memory")))
		}
	}
	return spec, pending, warnings
}

// pendingResources is the size waiting for the next start, or nil.
func (c *containerVM) pendingResources() *models.Resources {
	raw := c.extra[keyPendingResources]
	if raw == "" {
		return nil
	}
	var r models.Resources
	if json.Unmarshal([]byte(raw), &r) != nil || (r.Cpus == 0 && r.MemoryMB == 0) {
		return nil
	}
	return &r
}

// bootChanges is what a start changes besides the boot count: the pending size is applied, and the
// records of the last boot's tasks are dropped (they are non-persistent).
func bootChanges(c *containerVM, spec *types.VirtualMachineConfigSpec, kv map[string]string) {
	if p := c.pendingResources(); p != nil {
		if p.Cpus > 0 {
			spec.NumCPUs = int32(p.Cpus)
		}
		if p.MemoryMB > 0 {
			spec.MemoryMB = p.MemoryMB
		}
	}
	if _, ok := c.extra[keyPendingResources]; ok {
		kv[keyPendingResources] = ""
	}
	for _, id := range c.taskIDs() {
		kv[wire.SessionKey(id)] = ""
	}
}
