package vsphere

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// readCluster reads the cluster and its hosts directly, independently of the backend.
func readCluster(t *testing.T, c *vim25.Client) (mo.ComputeResource, []mo.HostSystem) {
	t.Helper()
	ctx := context.Background()
	f := find.NewFinder(c, true)
	obj, err := f.ComputeResource(ctx, "/DC0/host/DC0_C0")
	if err != nil {
		t.Fatal(err)
	}
	pc := property.DefaultCollector(c)
	var cr mo.ComputeResource
	if err := pc.RetrieveOne(ctx, obj.Reference(), []string{"summary", "host"}, &cr); err != nil {
		t.Fatal(err)
	}
	var hosts []mo.HostSystem
	if err := pc.Retrieve(ctx, cr.Host, []string{"name", "summary"}, &hosts); err != nil {
		t.Fatal(err)
	}
	return cr, hosts
}

func readPool(t *testing.T, c *vim25.Client, path string) mo.ResourcePool {
	t.Helper()
	ctx := context.Background()
	pool, err := find.NewFinder(c, true).ResourcePool(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var p mo.ResourcePool
	if err := pool.Properties(ctx, pool.Reference(), []string{"config"}, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInfoUnlimitedPool(t *testing.T) {
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	info, err := b.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cr, hosts := readCluster(t, s.client(t))
	sum := cr.Summary.GetComputeResourceSummary()

	if *info.Name != DefaultVCHName || *info.Backend != "vcsim" || info.ID == "" {
		t.Errorf("name %q backend %q id %q", *info.Name, *info.Backend, info.ID)
	}
	p := info.Pool
	if *p.Path != "/DC0/host/DC0_C0/Resources/"+DefaultVCHName {
		t.Errorf("pool path %q", *p.Path)
	}
	if p.CPULimitMhz != -1 || p.MemoryLimitBytes != -1 {
		t.Errorf("limits %d MHz %d bytes, want -1 (unlimited)", p.CPULimitMhz, p.MemoryLimitBytes)
	}
	if p.CPUCapacityMhz != int64(sum.EffectiveCpu) {
		t.Errorf("cpu capacity %d, want the cluster's effective %d", p.CPUCapacityMhz, sum.EffectiveCpu)
	}
	// vcsim reports EffectiveMemory in bytes, not MB, so the backend falls back to the total.
	if p.MemoryCapacityBytes != sum.TotalMemory {
		t.Errorf("memory capacity %d, want the cluster's total %d", p.MemoryCapacityBytes, sum.TotalMemory)
	}
	var cores int64
	for _, h := range hosts {
		cores += int64(h.Summary.Hardware.NumCpuCores)
	}
	if p.Cpus != cores || p.Cpus != int64(sum.NumCpuCores) {
		t.Errorf("cpus %d, want the hosts' %d cores (summary %d)", p.Cpus, cores, sum.NumCpuCores)
	}

	if len(info.Hosts) != len(hosts) || len(hosts) != 3 {
		t.Fatalf("%d hosts, want %d", len(info.Hosts), len(hosts))
	}
	byName := map[string]mo.HostSystem{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	for _, hi := range info.Hosts {
		h, ok := byName[hi.Name]
		if !ok {
			t.Fatalf("unknown host %q", hi.Name)
		}
		hw := h.Summary.Hardware
		if hi.CPUCores != int64(hw.NumCpuCores) || hi.CPUMhz != int64(hw.CpuMhz) || hi.MemoryBytes != hw.MemorySize {
			t.Errorf("host %s: %d cores %d MHz %d bytes, want %d %d %d", hi.Name, hi.CPUCores, hi.CPUMhz,
				hi.MemoryBytes, hw.NumCpuCores, hw.CpuMhz, hw.MemorySize)
		}
		if hi.ConnectionState != string(types.HostSystemConnectionStateConnected) || hi.InMaintenanceMode {
			t.Errorf("host %s: state %q maintenance %v", hi.Name, hi.ConnectionState, hi.InMaintenanceMode)
		}
	}

	if len(info.Datastores) != 1 || info.Datastores[0].Name != "LocalDS_0" || info.Datastores[0].CapacityBytes <= 0 {
		t.Errorf("datastores %+v", info.Datastores)
	}
	nets := map[string]string{}
	for _, n := range info.Networks {
		nets[n.Name] = n.Type
	}
	if nets["VM Network"] != "Network" || nets["DC0_DVPG0"] != "DistributedVirtualPortgroup" {
		t.Errorf("networks %v", nets)
	}

	about := s.client(t).ServiceContent.About
	v := info.Vsphere
	if v.APIType != "VirtualCenter" || v.Version != about.Version || v.InstanceUUID != about.InstanceUuid ||
		v.FullName != about.FullName || v.Build != about.Build || v.APIVersion != about.ApiVersion {
		t.Errorf("vsphere %+v, want %+v", v, about)
	}
	if v.URL == "" || containsPassword(v.URL) {
		t.Errorf("vsphere url %q", v.URL)
	}
}

func containsPassword(u string) bool { return strings.Contains(u, ":pass@") }

func TestInfoLimitedPool(t *testing.T) {
	s := startSim(t, oneCluster(), nil)
	cfg := s.config()
	cfg.CPULimitMHz = 5000
	cfg.MemoryLimitMB = 2048
	b := newBackend(t, cfg)
	info, err := b.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(t)
	pool := readPool(t, c, *info.Pool.Path)
	cpuLimit, memLimit := *pool.Config.CpuAllocation.Limit, *pool.Config.MemoryAllocation.Limit
	if cpuLimit != 5000 || memLimit != 2048 {
		t.Fatalf("pool created with limits %d MHz %d MB, want 5000 and 2048", cpuLimit, memLimit)
	}
	_, hosts := readCluster(t, c)
	perCore := int64(hosts[0].Summary.Hardware.CpuMhz) // vcsim's hosts are identical

	p := info.Pool
	if p.CPULimitMhz != cpuLimit || p.CPUCapacityMhz != cpuLimit {
		t.Errorf("cpu limit %d capacity %d, want %d", p.CPULimitMhz, p.CPUCapacityMhz, cpuLimit)
	}
	if p.MemoryLimitBytes != memLimit<<20 || p.MemoryCapacityBytes != memLimit<<20 {
		t.Errorf("memory limit %d capacity %d, want %d", p.MemoryLimitBytes, p.MemoryCapacityBytes, memLimit<<20)
	}
	if want := cpuLimit / perCore; p.Cpus != want {
		t.Errorf("cpus %d, want floor(%d/%d) = %d", p.Cpus, cpuLimit, perCore, want)
	}

	// Limits apply only when the pool is created: a backend started later without them keeps the pool's.
	cfg.CPULimitMHz, cfg.MemoryLimitMB = 0, 0
	b2 := newBackend(t, cfg)
	info2, err := b2.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info2.Pool.CPULimitMhz != cpuLimit || info2.Pool.MemoryLimitBytes != memLimit<<20 {
		t.Errorf("existing pool's limits changed: %+v", info2.Pool)
	}
}

func TestPoolCpusAtLeastOne(t *testing.T) {
	hosts := hostInfo(nil)
	p := poolInfo("/p", &mo.ResourcePool{Config: types.ResourceConfigSpec{
		CpuAllocation:    types.ResourceAllocationInfo{Limit: types.NewInt64(100)},
		MemoryAllocation: types.ResourceAllocationInfo{Limit: types.NewInt64(-1)},
	}}, &mo.ComputeResource{}, hosts)
	if p.Cpus != 0 {
		t.Fatalf("no hosts: cpus %d, want 0", p.Cpus)
	}
	p = poolInfo("/p", &mo.ResourcePool{Config: types.ResourceConfigSpec{
		CpuAllocation:    types.ResourceAllocationInfo{Limit: types.NewInt64(100)},
		MemoryAllocation: types.ResourceAllocationInfo{Limit: types.NewInt64(-1)},
	}}, &mo.ComputeResource{}, append(hosts, &models.HostInfo{CPUCores: 4, CPUMhz: 2000}))
	if p.Cpus != 1 {
		t.Fatalf("a 100 MHz limit on 2000 MHz cores: cpus %d, want 1", p.Cpus)
	}
}
