package vch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// VCH is a deployed Virtual Container Host as found in the inventory: its endpoint VM, pool and the
// configuration in the VM's extraConfig.
type VCH struct {
	// ID is the endpoint VM's managed object ID ("vm-42"), VIC's VCH ID.
	ID         string
	Name       string
	VM         *object.VirtualMachine
	Pool       *object.ResourcePool // InventoryPath set
	Datacenter *object.Datacenter
	PowerState types.VirtualMachinePowerState
	CPUs       int32
	MemoryMB   int32

	Config   vchwire.ApplianceConfig
	Version  string // vchwire.KeyVCHVersion
	Previous string // vchwire.KeyVCHPrevious
	Status   *vchwire.ApplianceStatus
	TLS      *vchwire.ApplianceTLS
	Debug    *vchwire.ApplianceDebug
	// PublicKey is the endpoint's key its secrets are sealed to (vchwire.KeyPublicKey); nil when the VM has
	// none.
	PublicKey *vchwire.PublicKey
	// Extra is the whole extraConfig.
	Extra map[string]string
}

var vchProps = []string{"name", "config.extraConfig", "config.hardware.numCPU", "config.hardware.memoryMB",
	"resourcePool", "runtime.powerState"}

// datacenters are the ones the target names, or all of them.
func (s *Session) datacenters(ctx context.Context) ([]*object.Datacenter, error) {
	if s.Target.Datacenter != "" {
		dc, err := s.resolveDatacenter(ctx)
		if err != nil {
			return nil, err
		}
		return []*object.Datacenter{dc}, nil
	}
	all, err := s.Finder.DatacenterList(ctx, "*")
	var nf *find.NotFoundError
	if err != nil && !errors.As(err, &nf) {
		return nil, fmt.Errorf("list datacenters: %w", err)
	}
	if len(all) == 1 {
		s.Finder.SetDatacenter(all[0])
	}
	return all, nil
}

// listVCHs finds the VCHs of the datacenters: the VMs whose extraConfig has vchwire.KeyAppliance.
func (s *Session) listVCHs(ctx context.Context, dcs []*object.Datacenter) ([]*VCH, error) {
	var out []*VCH
	m := view.NewManager(s.Client)
	for _, dc := range dcs {
		v, err := m.CreateContainerView(ctx, dc.Reference(), []string{"VirtualMachine"}, true)
		if err != nil {
			return nil, fmt.Errorf("list the VMs of %s: %w", dc.InventoryPath, err)
		}
		var vms []mo.VirtualMachine
		err = v.Retrieve(ctx, []string{"VirtualMachine"}, vchProps, &vms)
		_ = v.Destroy(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the VMs of %s: %w", dc.InventoryPath, err)
		}
		for i := range vms {
			if vch := s.vchFromVM(ctx, dc, &vms[i]); vch != nil {
				out = append(out, vch)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || (out[i].Name == out[j].Name && out[i].ID < out[j].ID)
	})
	return out, nil
}

// vchFromVM is the VCH whose endpoint is vm, nil when vm is not an endpoint.
func (s *Session) vchFromVM(ctx context.Context, dc *object.Datacenter, vm *mo.VirtualMachine) *VCH {
	if vm.Config == nil {
		return nil
	}
	extra := map[string]string{}
	for _, o := range vm.Config.ExtraConfig {
		ov := o.GetOptionValue()
		if v, ok := ov.Value.(string); ok {
			extra[ov.Key] = v
		}
	}
	raw, ok := extra[vchwire.KeyAppliance]
	if !ok {
		return nil
	}
	vch := &VCH{
		ID: vm.Self.Value, Name: vm.Name, VM: object.NewVirtualMachine(s.Client, vm.Self), Datacenter: dc,
		PowerState: vm.Runtime.PowerState, Extra: extra,
		Version: extra[vchwire.KeyVCHVersion], Previous: extra[vchwire.KeyVCHPrevious],
		CPUs: vm.Config.Hardware.NumCPU, MemoryMB: vm.Config.Hardware.MemoryMB,
	}
	_ = json.Unmarshal([]byte(raw), &vch.Config)
	if vch.Config.Name != "" {
		vch.Name = vch.Config.Name
	}
	if st := extra[vchwire.KeyApplianceStatus]; st != "" {
		var status vchwire.ApplianceStatus
		if json.Unmarshal([]byte(st), &status) == nil {
			vch.Status = &status
		}
	}
	if t := extra[vchwire.KeyApplianceTLS]; t != "" {
		var tlsCfg vchwire.ApplianceTLS
		if json.Unmarshal([]byte(t), &tlsCfg) == nil {
			vch.TLS = &tlsCfg
		}
	}
	if p := extra[vchwire.KeyPublicKey]; p != "" {
		vch.PublicKey, _ = vchwire.ParsePublicKey(p)
	}
	if d := extra[vchwire.KeyApplianceDebug]; d != "" {
		var dbg vchwire.ApplianceDebug
		if json.Unmarshal([]byte(d), &dbg) == nil {
			vch.Debug = &dbg
		}
	}
	if vm.ResourcePool != nil {
		vch.Pool = object.NewResourcePool(s.Client, *vm.ResourcePool)
		if p, err := find.InventoryPath(ctx, s.Client, *vm.ResourcePool); err == nil {
			vch.Pool.InventoryPath = p
		}
	}
	vch.VM.InventoryPath = vch.Name
	return vch
}

// findVCH picks the VCH the options name: --id, else --name (narrowed by --compute-resource).
func (s *Session) findVCH(ctx context.Context, o CommonOptions) (*VCH, error) {
	dcs, err := s.datacenters(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.listVCHs(ctx, dcs)
	if err != nil {
		return nil, err
	}
	if o.ID != "" {
		id := strings.TrimPrefix(o.ID, "VirtualMachine:")
		for _, v := range all {
			if v.ID == id {
				return s.adopt(v), nil
			}
		}
		ids := make([]string, len(all))
		for i, v := range all {
			ids[i] = v.ID
		}
		return nil, fmt.Errorf("no VCH with ID %q on %s\n%s", o.ID, s.Target, suggest("--id", ids))
	}
	name := o.Name
	if name == "" {
		name = DefaultName
	}
	var match []*VCH
	for _, v := range all {
		if v.Name != name {
			continue
		}
		if o.ComputeResource != "" && !poolUnder(v, o.ComputeResource) {
			continue
		}
		match = append(match, v)
	}
	switch len(match) {
	case 1:
		return s.adopt(match[0]), nil
	case 0:
		names := make([]string, len(all))
		for i, v := range all {
			names[i] = v.Name
		}
		return nil, fmt.Errorf("no VCH named %q on %s; `vice-machine ls` lists them\n%s", name, s.Target, suggest("--name", names))
	}
	var ids []string
	for _, v := range match {
		ids = append(ids, fmt.Sprintf("%s (%s)", v.ID, v.Pool.InventoryPath))
	}
	return nil, fmt.Errorf("%d VCHs are named %q: choose one with --id: %s", len(match), name, strings.Join(ids, ", "))
}

// adopt points the finder at the VCH's datacenter.
func (s *Session) adopt(v *VCH) *VCH {
	s.Finder.SetDatacenter(v.Datacenter)
	return v
}

// poolUnder reports whether the VCH's pool lies under the compute resource cr (a name or path).
func poolUnder(v *VCH, cr string) bool {
	if v.Pool == nil {
		return false
	}
	p := v.Pool.InventoryPath
	cr = strings.Trim(cr, "/")
	return strings.Contains(p, "/"+cr+"/Resources") || strings.HasPrefix(strings.TrimPrefix(p, "/"), cr+"/Resources")
}

// imageStore is the VCH's image store datastore.
func (s *Session) imageStore(ctx context.Context, v *VCH) (*object.Datastore, error) {
	ds, err := s.Finder.Datastore(ctx, v.Config.ImageStore)
	if err != nil {
		return nil, fmt.Errorf("the VCH's image store %q: %w", v.Config.ImageStore, err)
	}
	return ds, nil
}

// poolVMs lists the VMs in the VCH's pool with their power state, the endpoint first.
func (s *Session) poolVMs(ctx context.Context, v *VCH) ([]mo.VirtualMachine, error) {
	if v.Pool == nil {
		return nil, nil
	}
	var rp mo.ResourcePool
	if err := v.Pool.Properties(ctx, v.Pool.Reference(), []string{"vm"}, &rp); err != nil {
		return nil, fmt.Errorf("list the VMs of %s: %w", v.Pool.InventoryPath, err)
	}
	if len(rp.Vm) == 0 {
		return nil, nil
	}
	var vms []mo.VirtualMachine
	if err := retrieve(ctx, s, rp.Vm, []string{"name", "runtime.powerState", "config.extraConfig"}, &vms); err != nil {
		return nil, fmt.Errorf("read the VMs of %s: %w", v.Pool.InventoryPath, err)
	}
	sort.Slice(vms, func(i, j int) bool {
		if vms[i].Self.Value == v.ID {
			return true
		}
		if vms[j].Self.Value == v.ID {
			return false
		}
		return vms[i].Name < vms[j].Name
	})
	return vms, nil
}

// PoolKind says what the VCH's pool is, "virtual app" or "resource pool"; "" when it has none.
func (v *VCH) PoolKind() string {
	if v.Pool == nil {
		return ""
	}
	return kind(v.Pool.Reference().Type)
}
