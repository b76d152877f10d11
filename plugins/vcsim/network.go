package vcsim

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// addPortGroups makes each named standard port group exist on every host's vSwitch0 and as one network of
// the datacenter, the way vCenter shows a port group that all hosts of a cluster have.
//
// The simulator keeps one network object per name and datacenter and refuses a second host's AddPortGroup
// with DuplicateName, and it does not link networks to hosts. So the first host adds the port group through
// the API, and the rest is recorded in the simulator's registry, as vCenter would record it.
func addPortGroups(ctx context.Context, sctx *simulator.Context, hosts []*object.HostSystem, names ...string) error {
	for _, name := range names {
		for _, h := range hosts {
			ns, err := h.ConfigManager().NetworkSystem(ctx)
			if err != nil {
				return fmt.Errorf("vcsim: network system of %s: %w", h.Name(), err)
			}
			if hasPortGroup(sctx, ns.Reference(), name) {
				continue // "VM Network" comes with every simulated host
			}
			err = ns.AddPortGroup(ctx, types.HostPortGroupSpec{Name: name, VswitchName: defaultVSwitch})
			switch {
			case err == nil:
			case fault.Is(err, &types.DuplicateName{}):
				recordPortGroup(sctx, ns.Reference(), name)
			default:
				return fmt.Errorf("vcsim: add port group %q to %s: %w", name, h.Name(), err)
			}
		}
	}
	return linkNetworks(sctx, hosts)
}

func hostNetworkSystem(sctx *simulator.Context, ref types.ManagedObjectReference) *simulator.HostNetworkSystem {
	ns, _ := sctx.Map.Get(ref).(*simulator.HostNetworkSystem)
	return ns
}

func hasPortGroup(sctx *simulator.Context, ref types.ManagedObjectReference, name string) bool {
	ns := hostNetworkSystem(sctx, ref)
	if ns == nil {
		return false
	}
	found := false
	sctx.Map.WithLock(sctx, ns, func() {
		for _, pg := range ns.NetworkInfo.Portgroup {
			if pg.Spec.Name == name {
				found = true
			}
		}
	})
	return found
}

// recordPortGroup does on a host's network system what AddPortGroup does, without the datacenter network
// that already exists.
func recordPortGroup(sctx *simulator.Context, ref types.ManagedObjectReference, name string) {
	ns := hostNetworkSystem(sctx, ref)
	if ns == nil {
		return
	}
	sctx.Map.WithLock(sctx, ns, func() {
		for i := range ns.NetworkInfo.Vswitch {
			if ns.NetworkInfo.Vswitch[i].Name == defaultVSwitch {
				ns.NetworkInfo.Vswitch[i].Portgroup = append(ns.NetworkInfo.Vswitch[i].Portgroup, name)
			}
		}
		ns.NetworkInfo.Portgroup = append(ns.NetworkInfo.Portgroup, types.HostPortGroup{
			Key:  "key-vim.host.PortGroup-" + name,
			Spec: types.HostPortGroupSpec{Name: name, VswitchName: defaultVSwitch},
		})
	})
}

// linkNetworks records that every host (and so its cluster) reaches every network of the datacenter, which
// is what placement queries such as QueryConfigTarget read.
func linkNetworks(sctx *simulator.Context, hosts []*object.HostSystem) error {
	for _, h := range hosts {
		host, ok := sctx.Map.Get(h.Reference()).(*simulator.HostSystem)
		if !ok {
			return fmt.Errorf("vcsim: host %s is not in the simulator's registry", h.Reference())
		}
		dc := datacenterOf(sctx, host.Parent)
		if dc == nil {
			return fmt.Errorf("vcsim: no datacenter above host %s", h.Name())
		}
		cluster := sctx.Map.Get(*host.Parent)
		for _, netRef := range dc.Network {
			network, ok := sctx.Map.Get(netRef).(*mo.Network)
			if !ok {
				continue // distributed port groups keep their own host lists
			}
			sctx.Map.AddReference(sctx, host, &host.Network, netRef)
			sctx.Map.AddReference(sctx, network, &network.Host, host.Self)
			if cr, ok := cluster.(*simulator.ClusterComputeResource); ok {
				sctx.Map.AddReference(sctx, cr, &cr.Network, netRef)
			}
		}
	}
	return nil
}

// datacenterOf walks up from ref to the datacenter that contains it.
func datacenterOf(sctx *simulator.Context, ref *types.ManagedObjectReference) *simulator.Datacenter {
	for ref != nil {
		obj := sctx.Map.Get(*ref)
		if dc, ok := obj.(*simulator.Datacenter); ok {
			return dc
		}
		entity, ok := obj.(mo.Entity)
		if !ok {
			return nil
		}
		ref = entity.Entity().Parent
	}
	return nil
}
