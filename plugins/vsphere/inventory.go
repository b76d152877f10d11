package vsphere

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// placement is where the VCH lives in the inventory, resolved once by New.
type placement struct {
	datacenter *object.Datacenter
	compute    *object.ComputeResource
	datastore  *object.Datastore
	pool       *object.ResourcePool
}

// resolvePlacement finds the datacenter, compute resource and datastore cfg names (or the only ones there
// are) and makes sure the VCH's resource pool exists.
func resolvePlacement(ctx context.Context, c *vim25.Client, cfg Config) (*placement, error) {
	f := find.NewFinder(c, false)
	var p placement
	var err error
	if p.datacenter, err = pickDatacenter(ctx, f, cfg.Datacenter); err != nil {
		return nil, err
	}
	f.SetDatacenter(p.datacenter)
	if p.compute, err = pickComputeResource(ctx, f, cfg.ComputeResource); err != nil {
		return nil, err
	}
	if p.datastore, err = pickDatastore(ctx, c, f, p.compute, cfg.Datastore); err != nil {
		return nil, err
	}
	if cfg.Pool != "" {
		if p.pool, err = findPool(ctx, f, cfg.Pool); err != nil {
			return nil, err
		}
		return &p, nil
	}
	if p.pool, err = ensurePool(ctx, f, p.compute, cfg); err != nil {
		return nil, err
	}
	return &p, nil
}

// findPool is the existing pool or vApp at path, which the installer made for the VCH; it is never created
// here, since a missing one means the VCH was deleted.
func findPool(ctx context.Context, f *find.Finder, path string) (*object.ResourcePool, error) {
	pool, err := f.ResourcePool(ctx, path)
	if err == nil {
		return pool, nil
	}
	var nf *find.NotFoundError
	if !errors.As(err, &nf) {
		return nil, classify(err, "find resource pool "+path)
	}
	vapp, verr := f.VirtualApp(ctx, path)
	if verr != nil {
		return nil, fmt.Errorf("the VCH's pool %s does not exist: %w", path, errdefs.ErrNotFound)
	}
	return vapp.ResourcePool, nil
}

// isVApp reports whether the VCH's pool is a vApp, whose VMs are made with CreateChildVM.
func (p *placement) isVApp() bool { return p.pool.Reference().Type == "VirtualApp" }

func pickDatacenter(ctx context.Context, f *find.Finder, name string) (*object.Datacenter, error) {
	all, err := f.DatacenterList(ctx, "*")
	if err != nil {
		return nil, classify(err, "list datacenters")
	}
	paths := make([]string, len(all))
	for i, dc := range all {
		paths[i] = dc.InventoryPath
	}
	if name == "" {
		if len(all) != 1 {
			return nil, ambiguous("datacenter", "--datacenter", paths)
		}
		return all[0], nil
	}
	dc, err := f.Datacenter(ctx, name)
	if err != nil {
		return nil, choices(classify(err, "datacenter "+name), paths)
	}
	return dc, nil
}

func pickComputeResource(ctx context.Context, f *find.Finder, name string) (*object.ComputeResource, error) {
	all, err := f.ComputeResourceList(ctx, "*")
	var nf *find.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		return nil, classify(err, "list compute resources")
	}
	paths := make([]string, len(all))
	for i, cr := range all {
		paths[i] = cr.InventoryPath
	}
	if name == "" {
		if len(all) != 1 {
			return nil, ambiguous("compute resource", "--compute-resource", paths)
		}
		return all[0], nil
	}
	cr, err := f.ComputeResource(ctx, name)
	if err != nil {
		return nil, choices(classify(err, "compute resource "+name), paths)
	}
	return cr, nil
}

// pickDatastore returns the named datastore, else the first (by name) that the compute resource can use.
func pickDatastore(ctx context.Context, c *vim25.Client, f *find.Finder, cr *object.ComputeResource,
	name string) (*object.Datastore, error) {
	if name != "" {
		ds, err := f.Datastore(ctx, name)
		if err != nil {
			return nil, classify(err, "datastore "+name)
		}
		return ds, nil
	}
	var crmo mo.ComputeResource
	if err := cr.Properties(ctx, cr.Reference(), []string{"datastore"}, &crmo); err != nil {
		return nil, classify(err, "list the datastores of "+cr.InventoryPath)
	}
	if len(crmo.Datastore) == 0 {
		return nil, fmt.Errorf("compute resource %s has no datastore: %w", cr.InventoryPath, errdefs.ErrInvalid)
	}
	var dss []mo.Datastore
	if err := property.DefaultCollector(c).Retrieve(ctx, crmo.Datastore, []string{"name"}, &dss); err != nil {
		return nil, classify(err, "read datastore names")
	}
	sort.Slice(dss, func(i, j int) bool { return dss[i].Name < dss[j].Name })
	ds := object.NewDatastore(c, dss[0].Self)
	// Datastore HTTP access needs the datacenter path and the name, which FindInventoryPath sets.
	if err := ds.FindInventoryPath(ctx); err != nil {
		return nil, classify(err, "locate datastore "+dss[0].Name)
	}
	return ds, nil
}

// ensurePool finds the VCH's resource pool under the compute resource's root pool, creating it with the
// configured limits when it is missing.
func ensurePool(ctx context.Context, f *find.Finder, cr *object.ComputeResource, cfg Config) (*object.ResourcePool, error) {
	poolPath := path.Join(cr.InventoryPath, "Resources", cfg.VCHName)
	pool, err := f.ResourcePool(ctx, poolPath)
	if err == nil {
		return pool, nil
	}
	var nf *find.NotFoundError
	if !errors.As(err, &nf) {
		return nil, classify(err, "find resource pool "+poolPath)
	}
	root, err := cr.ResourcePool(ctx)
	if err != nil {
		return nil, classify(err, "find the root resource pool of "+cr.InventoryPath)
	}
	spec := types.DefaultResourceConfigSpec()
	if cfg.CPULimitMHz > 0 {
		spec.CpuAllocation.Limit = types.NewInt64(cfg.CPULimitMHz)
	}
	if cfg.MemoryLimitMB > 0 {
		spec.MemoryAllocation.Limit = types.NewInt64(cfg.MemoryLimitMB)
	}
	pool, err = root.Create(ctx, cfg.VCHName, spec)
	if err != nil {
		if errors.Is(classify(err, ""), errdefs.ErrConflict) {
			// Another endpoint created it between our lookup and our create: use theirs.
			if pool, ferr := f.ResourcePool(ctx, poolPath); ferr == nil {
				return pool, nil
			}
		}
		return nil, classify(err, "create resource pool "+poolPath)
	}
	cfg.Logger.Info("created the VCH resource pool", "path", poolPath,
		"cpuLimitMHz", cfg.CPULimitMHz, "memoryLimitMB", cfg.MemoryLimitMB)
	pool.InventoryPath = poolPath
	return pool, nil
}

// ambiguous is the error for a choice the configuration must make because the target offers several (or no)
// candidates.
func ambiguous(kind, flag string, paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("the target has no %s: %w", kind, errdefs.ErrInvalid)
	}
	sort.Strings(paths)
	return fmt.Errorf("the target has %d %ss, choose one with %s: %s: %w",
		len(paths), kind, flag, strings.Join(paths, ", "), errdefs.ErrInvalid)
}

// choices adds the available candidates to a lookup error, so a typo is easy to fix.
func choices(err error, paths []string) error {
	sort.Strings(paths)
	return fmt.Errorf("%w (available: %s)", err, strings.Join(paths, ", "))
}
