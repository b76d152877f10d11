package vsphere

import (
	"context"
	"runtime/debug"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/swagger/gen/models"
)

const mb = 1 << 20

// Info describes the VCH from live vSphere reads: the target, the pool and its capacity, the compute
// resource's hosts, and the datacenter's datastores and networks.
func (b *Backend) Info(ctx context.Context) (*models.VCHInfo, error) {
	c := b.sess.client
	pc := property.DefaultCollector(c)

	var pool mo.ResourcePool
	if err := pc.RetrieveOne(ctx, b.where.pool.Reference(), []string{"config", "runtime", "summary"}, &pool); err != nil {
		return nil, classify(err, "read resource pool "+b.where.pool.InventoryPath)
	}
	var cr mo.ComputeResource
	if err := pc.RetrieveOne(ctx, b.where.compute.Reference(), []string{"summary", "host"}, &cr); err != nil {
		return nil, classify(err, "read compute resource "+b.where.compute.InventoryPath)
	}
	var hosts []mo.HostSystem
	if len(cr.Host) > 0 {
		if err := pc.Retrieve(ctx, cr.Host, []string{"name", "summary.hardware", "runtime"}, &hosts); err != nil {
			return nil, classify(err, "read hosts of "+b.where.compute.InventoryPath)
		}
	}
	var dc mo.Datacenter
	if err := pc.RetrieveOne(ctx, b.where.datacenter.Reference(), []string{"datastore", "network"}, &dc); err != nil {
		return nil, classify(err, "read datacenter "+b.where.datacenter.InventoryPath)
	}
	datastores, err := b.datastoreInfo(ctx, pc, dc.Datastore)
	if err != nil {
		return nil, err
	}
	networks, err := b.networkInfo(ctx, pc, dc.Network)
	if err != nil {
		return nil, err
	}
	stores, err := b.ListVolumeStores(ctx)
	if err != nil {
		return nil, err
	}

	about := c.ServiceContent.About
	name, backend := b.cfg.VCHName, b.cfg.BackendName
	hostInfos := hostInfo(hosts)
	return &models.VCHInfo{
		Name:           &name,
		ID:             pool.Self.Value,
		Backend:        &backend,
		BackendVersion: backendVersion(),
		Vsphere: &models.VSphereInfo{
			Name: about.Name, FullName: about.FullName, Version: about.Version, Build: about.Build,
			APIVersion: about.ApiVersion, APIType: about.ApiType, InstanceUUID: about.InstanceUuid,
			URL: redact(b.target),
		},
		Pool:         poolInfo(b.where.pool.InventoryPath, &pool, &cr, hostInfos),
		Hosts:        hostInfos,
		Datastores:   datastores,
		Networks:     networks,
		VolumeStores: stores,
	}, nil
}

// poolInfo computes the pool's capacity: its limits when set, else what the compute resource offers.
func poolInfo(path string, pool *mo.ResourcePool, cr *mo.ComputeResource, hosts []*models.HostInfo) *models.PoolInfo {
	p := &models.PoolInfo{Path: &path, CPULimitMhz: -1, MemoryLimitBytes: -1}
	if l := pool.Config.CpuAllocation.Limit; l != nil && *l >= 0 {
		p.CPULimitMhz = *l
	}
	if l := pool.Config.MemoryAllocation.Limit; l != nil && *l >= 0 {
		p.MemoryLimitBytes = *l * mb
	}

	var crCPU, crMem int64
	if cr.Summary != nil {
		s := cr.Summary.GetComputeResourceSummary()
		crCPU = int64(s.TotalCpu)
		if s.EffectiveCpu > 0 {
			crCPU = int64(s.EffectiveCpu)
		}
		crMem = s.TotalMemory
		// EffectiveMemory is in MB; trust it only when it is a plausible share of the total (vcsim fills it
		// in bytes).
		if eff := s.EffectiveMemory * mb; eff > 0 && eff <= s.TotalMemory {
			crMem = eff
		}
	}
	p.CPUCapacityMhz, p.MemoryCapacityBytes = crCPU, crMem
	if p.CPULimitMhz >= 0 {
		p.CPUCapacityMhz = p.CPULimitMhz
	}
	if p.MemoryLimitBytes >= 0 {
		p.MemoryCapacityBytes = p.MemoryLimitBytes
	}

	var cores, coreMHz int64 // coreMHz: sum over cores of their speed, to average the hosts' core speed
	for _, h := range hosts {
		cores += h.CPUCores
		coreMHz += h.CPUCores * h.CPUMhz
	}
	p.Cpus = cores
	if p.CPULimitMhz >= 0 && cores > 0 && coreMHz > 0 {
		perCore := coreMHz / cores
		p.Cpus = min(max(p.CPULimitMhz/perCore, 1), cores)
	}

	if s := pool.Summary; s != nil && s.GetResourcePoolSummary().QuickStats != nil {
		q := s.GetResourcePoolSummary().QuickStats
		p.CPUUsageMhz = q.OverallCpuUsage
		p.MemoryUsageBytes = q.HostMemoryUsage * mb
	} else {
		p.CPUUsageMhz = pool.Runtime.Cpu.OverallUsage
		p.MemoryUsageBytes = pool.Runtime.Memory.OverallUsage
	}
	return p
}

func hostInfo(hosts []mo.HostSystem) []*models.HostInfo {
	out := make([]*models.HostInfo, 0, len(hosts))
	for _, h := range hosts {
		hi := &models.HostInfo{
			Name:              h.Name,
			ConnectionState:   string(h.Runtime.ConnectionState),
			InMaintenanceMode: h.Runtime.InMaintenanceMode,
		}
		if hw := h.Summary.Hardware; hw != nil {
			hi.CPUCores, hi.CPUMhz, hi.MemoryBytes = int64(hw.NumCpuCores), int64(hw.CpuMhz), hw.MemorySize
		}
		out = append(out, hi)
	}
	return out
}

func (b *Backend) datastoreInfo(ctx context.Context, pc *property.Collector, refs []types.ManagedObjectReference) ([]*models.DatastoreInfo, error) {
	out := []*models.DatastoreInfo{}
	if len(refs) == 0 {
		return out, nil
	}
	var dss []mo.Datastore
	if err := pc.Retrieve(ctx, refs, []string{"summary"}, &dss); err != nil {
		return nil, classify(err, "read datastores")
	}
	for _, ds := range dss {
		s := ds.Summary
		out = append(out, &models.DatastoreInfo{
			Name: s.Name, Type: s.Type, URL: s.Url, CapacityBytes: s.Capacity, FreeBytes: s.FreeSpace,
		})
	}
	return out, nil
}

// networkInfo names the datacenter's networks; their kinds differ (standard port groups, distributed port
// groups, opaque networks), so the raw property contents are read rather than one managed object type.
func (b *Backend) networkInfo(ctx context.Context, pc *property.Collector, refs []types.ManagedObjectReference) ([]*models.NetworkInfo, error) {
	out := []*models.NetworkInfo{}
	if len(refs) == 0 {
		return out, nil
	}
	var contents []types.ObjectContent
	if err := pc.Retrieve(ctx, refs, []string{"name"}, &contents); err != nil {
		return nil, classify(err, "read networks")
	}
	for _, oc := range contents {
		n := &models.NetworkInfo{Type: oc.Obj.Type}
		for _, prop := range oc.PropSet {
			if s, ok := prop.Val.(string); ok && prop.Name == "name" {
				n.Name = s
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// version is the backend's release, set at build time (-ldflags "-X .../plugins/vsphere.version=..."); a
// build without it reports its module's version, if any.
var version string

// backendVersion is the release set at build time, else the version of the module this binary was built
// from, when the build recorded one.
func backendVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}
