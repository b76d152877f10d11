package vch

import (
	"context"
	"fmt"
	"path"
	"sort"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Files of the VCH's datastore folder "[image-store] <name>/".
const (
	bootstrapISOName = "bootstrap.iso"
	applianceLogName = "appliance.log"
	// endpointGuestID is what the endpoint VM tells vSphere it runs: a 64-bit Linux kernel of no distribution.
	endpointGuestID = "other3xLinux64Guest"
	// diskEnableUUID is the VMX setting that makes the VM's SCSI disks report their UUIDs as serial numbers
	// (VPD page 0x80): the endpoint finds each disk it attaches to itself by its UUID (VIC's attach-to-self).
	diskEnableUUID = "disk.EnableUUID"
)

// endpointSettings are the endpoint VM's own VMX settings, which create sets and a restart (upgrade,
// configure) sets again, so an endpoint made before one was added has it from its next power-on.
var endpointSettings = map[string]string{diskEnableUUID: "TRUE"}

// endpointSpec describes the endpoint VM.
type endpointSpec struct {
	Name      string
	CPUs      int32
	MemoryMB  int64
	Datastore *object.Datastore
	// Networks get one vmxnet3 NIC each, in order.
	Networks    []object.NetworkReference
	ExtraConfig map[string]string
}

// configSpec is the endpoint VM in one spec: a CD-ROM with "[ds] <name>/appliance.iso", one file-backed
// serial port "[ds] <name>/appliance.log" (the appliance's console log), the NICs, and the configuration in
// extraConfig. The VM's own files go to the same folder as the ISOs.
func (e endpointSpec) configSpec(ctx context.Context) (types.VirtualMachineConfigSpec, error) {
	dsRef := e.Datastore.Reference()
	var devices object.VirtualDeviceList

	ide := &types.VirtualIDEController{}
	ide.Key = devices.NewKey()
	devices = append(devices, ide)
	cdrom := &types.VirtualCdrom{VirtualDevice: types.VirtualDevice{
		Key: devices.NewKey(),
		Backing: &types.VirtualCdromIsoBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
			FileName: e.Datastore.Path(path.Join(e.Name, vchwire.ApplianceISO)), Datastore: &dsRef,
		}},
		Connectable: &types.VirtualDeviceConnectInfo{StartConnected: true, Connected: true},
	}}
	devices.AssignController(cdrom, ide)
	devices = append(devices, cdrom)

	devices = append(devices, &types.VirtualSerialPort{
		VirtualDevice: types.VirtualDevice{
			Key: devices.NewKey(),
			Backing: &types.VirtualSerialPortFileBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
				FileName: e.Datastore.Path(path.Join(e.Name, applianceLogName)), Datastore: &dsRef,
			}},
			Connectable: &types.VirtualDeviceConnectInfo{StartConnected: true, Connected: true},
		},
		YieldOnPoll: true,
	})

	for _, n := range e.Networks {
		backing, err := n.EthernetCardBackingInfo(ctx)
		if err != nil {
			return types.VirtualMachineConfigSpec{}, fmt.Errorf("NIC backing of network %s: %w", n.GetInventoryPath(), err)
		}
		nic, err := object.EthernetCardTypes().CreateEthernetCard("vmxnet3", backing)
		if err != nil {
			return types.VirtualMachineConfigSpec{}, err
		}
		card := nic.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		card.Key = devices.NewKey()
		card.Connectable = &types.VirtualDeviceConnectInfo{StartConnected: true, Connected: true}
		devices = append(devices, nic)
	}

	var changes []types.BaseVirtualDeviceConfigSpec
	for _, d := range devices {
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: d})
	}
	return types.VirtualMachineConfigSpec{
		Name:       e.Name,
		GuestId:    endpointGuestID,
		NumCPUs:    e.CPUs,
		MemoryMB:   e.MemoryMB,
		Annotation: "Virtual Container Host endpoint of " + e.Name + " (vice)",
		// The explicit .vmx path puts the VM in the folder that already holds the ISOs; given only a folder
		// that exists, vSphere would pick a new one ("<name> (1)").
		Files:        &types.VirtualMachineFileInfo{VmPathName: e.Datastore.Path(path.Join(e.Name, e.Name+".vmx"))},
		DeviceChange: changes,
		ExtraConfig:  extraConfig(withSettings(e.ExtraConfig)),
	}, nil
}

// withSettings is kv with endpointSettings added.
func withSettings(kv map[string]string) map[string]string {
	out := make(map[string]string, len(kv)+len(endpointSettings))
	for k, v := range kv {
		out[k] = v
	}
	for k, v := range endpointSettings {
		out[k] = v
	}
	return out
}

// extraConfig turns a map into option values, sorted by key; an empty value removes a key.
func extraConfig(kv map[string]string) []types.BaseOptionValue {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	opts := make([]types.BaseOptionValue, 0, len(keys))
	for _, k := range keys {
		opts = append(opts, &types.OptionValue{Key: k, Value: kv[k]})
	}
	return opts
}
