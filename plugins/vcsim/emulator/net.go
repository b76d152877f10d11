package emulator

import (
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// The emulated network (DESIGN §5a): every port group is a Linux bridge in a network namespace of the
// emulator's own, every vNIC of a running VM a veth pair from the VM's own network namespace onto its port
// group's bridge, with the vNIC's MAC. Nothing is added to the host's namespace: the namespaces live as long
// as the emulator holds them (a VM's as long as its guest runs), and the kernel removes their bridges and
// veths with them.

// vnicDevice is one vNIC of a VM, as its hardware describes it.
type vnicDevice struct {
	mac       string // lowercase
	portGroup string // the network it joins: a standard port group's name, a distributed one's key
}

// vnicDevices lists the VM's connected vNICs.
func vnicDevices(devices []types.BaseVirtualDevice, poweredOn bool) []vnicDevice {
	var out []vnicDevice
	for _, d := range devices {
		card, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		c := card.GetVirtualEthernetCard()
		if conn := c.Connectable; conn != nil && !conn.Connected && !(poweredOn && conn.StartConnected) {
			continue
		}
		var pg string
		switch b := c.Backing.(type) {
		case *types.VirtualEthernetCardNetworkBackingInfo:
			pg = b.DeviceName
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			pg = b.Port.PortgroupKey
		case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
			pg = b.OpaqueNetworkId
		}
		if pg == "" || c.MacAddress == "" {
			continue
		}
		out = append(out, vnicDevice{mac: strings.ToLower(c.MacAddress), portGroup: pg})
	}
	return out
}
