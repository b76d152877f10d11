package vsphere

import (
	"context"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// endpointNIC is the MAC of the endpoint VM's NIC on port group pg: the endpoint VM is the VM of the VCH's
// pool that holds the appliance's configuration. "" when the pool has no endpoint VM (a backend run outside
// one) or it has no NIC on pg.
func (b *Backend) endpointNIC(ctx context.Context, pg string) (string, error) {
	req := types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{
			Obj:       b.where.pool.Reference(),
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: b.where.pool.Reference().Type, Path: "vm"}},
		}},
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: []string{"config.extraConfig", "config.hardware.device"}}},
	}}}
	res, err := b.collector().RetrieveProperties(ctx, req)
	if err != nil {
		return "", classify(err, "list the VMs of pool "+b.where.pool.InventoryPath)
	}
	var vms []mo.VirtualMachine
	if err := mo.LoadObjectContent(res.Returnval, &vms); err != nil {
		return "", classify(err, "read the VMs of pool "+b.where.pool.InventoryPath)
	}
	want, err := b.nicBacking(ctx, pg)
	if err != nil {
		return "", err
	}
	for _, vm := range vms {
		if vm.Config == nil || !hasKey(vm.Config.ExtraConfig, vchwire.KeyAppliance) {
			continue
		}
		for _, d := range vm.Config.Hardware.Device {
			if card, ok := d.(types.BaseVirtualEthernetCard); ok && sameNetwork(card.GetVirtualEthernetCard().Backing, want) {
				return strings.ToLower(card.GetVirtualEthernetCard().MacAddress), nil
			}
		}
	}
	return "", nil
}

func hasKey(opts []types.BaseOptionValue, key string) bool {
	for _, o := range opts {
		if v := o.GetOptionValue(); v != nil && v.Key == key {
			return true
		}
	}
	return false
}

// sameNetwork says whether a NIC's backing joins the network of want.
func sameNetwork(have, want types.BaseVirtualDeviceBackingInfo) bool {
	switch w := want.(type) {
	case *types.VirtualEthernetCardNetworkBackingInfo:
		h, ok := have.(*types.VirtualEthernetCardNetworkBackingInfo)
		return ok && h.DeviceName == w.DeviceName
	case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
		h, ok := have.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo)
		return ok && h.Port.PortgroupKey == w.Port.PortgroupKey
	case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
		h, ok := have.(*types.VirtualEthernetCardOpaqueNetworkBackingInfo)
		return ok && h.OpaqueNetworkId == w.OpaqueNetworkId
	}
	return false
}
