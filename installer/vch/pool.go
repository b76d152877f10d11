package vch

import (
	"context"
	"fmt"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// limit is a pool limit for vSphere: 0 (the flag's "no limit") is -1.
func limit(v int64) *int64 {
	if v <= 0 {
		return types.NewInt64(-1)
	}
	return types.NewInt64(v)
}

// createPool makes the VCH's pool under the compute resource's root pool: a vApp on vCenter (unless useRP),
// a resource pool on ESXi, with the --cpu (MHz) and --memory (MB) limits.
func (s *Session) createPool(ctx context.Context, p *placement, name, version string, useRP bool, cpuMHz, memMB int64, log Progress) (*object.ResourcePool, error) {
	spec := types.DefaultResourceConfigSpec()
	spec.CpuAllocation.Limit = limit(cpuMHz)
	spec.MemoryAllocation.Limit = limit(memMB)
	inv := path.Join(p.RootPool.InventoryPath, name)
	if s.IsVC && !useRP {
		log.Infof("Creating virtual app %q", name)
		cfg := types.VAppConfigSpec{
			Annotation: "Virtual Container Host " + name,
			VmConfigSpec: types.VmConfigSpec{Product: []types.VAppProductSpec{{
				ArrayUpdateSpec: types.ArrayUpdateSpec{Operation: types.ArrayUpdateOperationAdd},
				Info:            &types.VAppProductInfo{Key: 0, Name: "vice", Vendor: "vice", Version: version},
			}}},
		}
		folder := p.Folders.VmFolder
		vapp, err := p.RootPool.CreateVApp(ctx, name, spec, cfg, folder)
		if err != nil {
			return nil, fmt.Errorf("creating virtual app %q failed: %w", inv, err)
		}
		vapp.InventoryPath = inv
		return vapp.ResourcePool, nil
	}
	log.Infof("Creating resource pool %q", name)
	rp, err := p.RootPool.Create(ctx, name, spec)
	if err != nil {
		return nil, fmt.Errorf("creating resource pool %q failed: %w", inv, err)
	}
	rp.InventoryPath = inv
	return rp, nil
}

// isVApp reports whether a pool reference is a vApp.
func isVApp(ref types.ManagedObjectReference) bool { return ref.Type == "VirtualApp" }

// poolLimits reads a pool's CPU (MHz) and memory (MB) limits; -1 is unlimited.
func poolLimits(ctx context.Context, pool *object.ResourcePool) (cpu, mem int64, err error) {
	var rp mo.ResourcePool
	if err := pool.Properties(ctx, pool.Reference(), []string{"config"}, &rp); err != nil {
		return 0, 0, fmt.Errorf("read the configuration of pool %s: %w", pool.InventoryPath, err)
	}
	cpu, mem = -1, -1
	if l := rp.Config.CpuAllocation.Limit; l != nil {
		cpu = *l
	}
	if l := rp.Config.MemoryAllocation.Limit; l != nil {
		mem = *l
	}
	return cpu, mem, nil
}

// setPoolLimits changes the limits the caller gives (nil leaves one as it is); 0 removes a limit.
func setPoolLimits(ctx context.Context, pool *object.ResourcePool, cpuMHz, memMB *int64) error {
	var rp mo.ResourcePool
	if err := pool.Properties(ctx, pool.Reference(), []string{"config"}, &rp); err != nil {
		return fmt.Errorf("read the configuration of pool %s: %w", pool.InventoryPath, err)
	}
	spec := types.ResourceConfigSpec{
		CpuAllocation:    types.ResourceAllocationInfo{Limit: rp.Config.CpuAllocation.Limit},
		MemoryAllocation: types.ResourceAllocationInfo{Limit: rp.Config.MemoryAllocation.Limit},
	}
	if cpuMHz != nil {
		spec.CpuAllocation.Limit = limit(*cpuMHz)
	}
	if memMB != nil {
		spec.MemoryAllocation.Limit = limit(*memMB)
	}
	if err := pool.UpdateConfig(ctx, "", &spec); err != nil {
		hint := ""
		if isNotImplemented(err) && isVApp(pool.Reference()) {
			hint = "; this target cannot change a vApp's resources: change them in the vSphere client, " +
				"or create the VCH with --use-rp"
		}
		return fmt.Errorf("update the limits of pool %s: %w%s", pool.InventoryPath, err, hint)
	}
	return nil
}

// destroyPool removes the VCH's pool or vApp; it must be empty by then.
func destroyPool(ctx context.Context, pool *object.ResourcePool) error {
	task, err := pool.Destroy(ctx)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}
