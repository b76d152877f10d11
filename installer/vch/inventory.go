package vch

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
)

// placement is where a VCH goes: the datacenter, the compute resource (cluster or host) and its root pool.
type placement struct {
	Datacenter *object.Datacenter
	Compute    *object.ComputeResource
	IsCluster  bool
	RootPool   *object.ResourcePool
	Hosts      []*object.HostSystem
	Folders    *object.DatacenterFolders
}

// resolveDatacenter finds the datacenter the target names, or the only one, and points the finder at it.
func (s *Session) resolveDatacenter(ctx context.Context) (*object.Datacenter, error) {
	all, err := s.Finder.DatacenterList(ctx, "*")
	var nf *find.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		return nil, fmt.Errorf("list datacenters: %w", err)
	}
	names := make([]string, len(all))
	for i, dc := range all {
		names[i] = strings.TrimPrefix(dc.InventoryPath, "/")
	}
	var dc *object.Datacenter
	switch {
	case s.Target.Datacenter != "":
		if dc, err = s.Finder.Datacenter(ctx, s.Target.Datacenter); err != nil {
			return nil, fmt.Errorf("datacenter %q (from --target) not found; put one of these after the host in "+
				"--target (user:password@host/DATACENTER)\n%s", s.Target.Datacenter, suggest("the datacenter", names))
		}
	case len(all) == 1:
		dc = all[0]
	case len(all) == 0:
		return nil, fmt.Errorf("the target %s has no datacenter", s.Target)
	default:
		return nil, fmt.Errorf("the target has %d datacenters; choose one by putting it after the host in --target "+
			"(user:password@host/DATACENTER)\n%s", len(all), suggest("the datacenter", names))
	}
	s.Finder.SetDatacenter(dc)
	return dc, nil
}

// computeNames are the compute resources of the datacenter, as --compute-resource accepts them.
func (s *Session) computeNames(ctx context.Context, dc *object.Datacenter) ([]*object.ComputeResource, []string, error) {
	all, err := s.Finder.ComputeResourceList(ctx, "*")
	var nf *find.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		return nil, nil, fmt.Errorf("list compute resources: %w", err)
	}
	names := make([]string, len(all))
	for i, cr := range all {
		names[i] = strings.TrimPrefix(cr.InventoryPath, path.Join(dc.InventoryPath, "host")+"/")
	}
	return all, names, nil
}

// resolvePlacement finds the datacenter and the compute resource called name (a cluster or host name, or an
// inventory path), or the only one there is.
func (s *Session) resolvePlacement(ctx context.Context, name string) (*placement, error) {
	dc, err := s.resolveDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	return s.resolveCompute(ctx, dc, name)
}

// placementOf is where an existing VCH lives.
func (s *Session) placementOf(ctx context.Context, v *VCH) (*placement, error) {
	s.Finder.SetDatacenter(v.Datacenter)
	return s.resolveCompute(ctx, v.Datacenter, v.Config.ComputeResource)
}

func (s *Session) resolveCompute(ctx context.Context, dc *object.Datacenter, name string) (*placement, error) {
	all, names, err := s.computeNames(ctx, dc)
	if err != nil {
		return nil, err
	}
	var cr *object.ComputeResource
	switch {
	case name != "":
		if cr, err = s.Finder.ComputeResource(ctx, name); err != nil {
			hint := ""
			if h, herr := s.Finder.HostSystem(ctx, name); herr == nil {
				if owner, oerr := hostOwner(ctx, h); oerr == nil && owner != "" {
					hint = fmt.Sprintf("; host %q belongs to cluster %q, give the cluster", name, owner)
				}
			}
			return nil, fmt.Errorf("compute resource %q not found%s\n%s", name, hint, suggest("--compute-resource", names))
		}
	case len(all) == 1:
		cr = all[0]
	case len(all) == 0:
		return nil, fmt.Errorf("datacenter %s has no cluster or host to run a VCH on", dc.InventoryPath)
	default:
		return nil, fmt.Errorf("the datacenter %s has %d compute resources; choose one with --compute-resource\n%s",
			dc.InventoryPath, len(all), suggest("--compute-resource", names))
	}
	p := &placement{Datacenter: dc, Compute: cr, IsCluster: cr.Reference().Type == "ClusterComputeResource"}
	if p.RootPool, err = cr.ResourcePool(ctx); err != nil {
		return nil, fmt.Errorf("find the root resource pool of %s: %w", cr.InventoryPath, err)
	}
	p.RootPool.InventoryPath = path.Join(cr.InventoryPath, "Resources")
	if p.Hosts, err = cr.Hosts(ctx); err != nil {
		return nil, fmt.Errorf("list the hosts of %s: %w", cr.InventoryPath, err)
	}
	if p.Folders, err = dc.Folders(ctx); err != nil {
		return nil, fmt.Errorf("find the folders of %s: %w", dc.InventoryPath, err)
	}
	return p, nil
}

// hostOwner is the name of the cluster a host belongs to, "" for a standalone host.
func hostOwner(ctx context.Context, h *object.HostSystem) (string, error) {
	var hmo mo.HostSystem
	if err := h.Properties(ctx, h.Reference(), []string{"parent"}, &hmo); err != nil || hmo.Parent == nil {
		return "", err
	}
	if hmo.Parent.Type != "ClusterComputeResource" {
		return "", nil
	}
	var cmo mo.ManagedEntity
	if err := h.Properties(ctx, *hmo.Parent, []string{"name"}, &cmo); err != nil {
		return "", err
	}
	return cmo.Name, nil
}
