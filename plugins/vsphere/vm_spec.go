package vsphere

import (
	"encoding/json"
	"path"
	"strconv"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// VIC's containerVM defaults, used when a spec leaves them zero.
const (
	defaultCPUs     = 2
	defaultMemoryMB = 2048
	// containerGuestID is what the containerVM tells vSphere it runs: a 64-bit Linux kernel of no distribution.
	containerGuestID = "other3xLinux64Guest"
)

// Files of a containerVM's folder and of the VCH's datastore folder.
const (
	bootstrapISO = "bootstrap.iso"
	outputLog    = "output.log"
	tetherDebug  = "tether.debug"
)

// diskEnableUUID is the VMX setting that makes a VM's SCSI disks report their UUIDs (VPD page 0x80).
const diskEnableUUID = "disk.EnableUUID"

// containerVMLayout is what CreateContainer decided before building the VM.
type containerVMLayout struct {
	id, name, layer string
	vmName          string // also the VM's folder
	volumes         []attachedVolume
	mounts          []wire.Mount // the guest's mounts, as planMounts resolved them
	cpus, memMB     int64
	config          string            // the tether's ContainerConfig JSON (guestconfig.go)
	keys            map[string]string // the spec's fields kept by the backend (guestconfig.go)
	annotations     map[string]string
	created         string
	attachURI       string // the serial line's network backing: the VCH's attach listener
	endpoints       []endpointRecord
	nics            []nicSpec // one per endpoint, in order
}

// nicSpec is one of the containerVM's NICs: its MAC and the port group it joins.
type nicSpec struct {
	mac     string
	backing types.BaseVirtualDeviceBackingInfo
}

// vmxnet3 is a NIC on backing with a manually assigned MAC, so the guest's configuration can name it before
// the VM exists.
func vmxnet3(key int32, n nicSpec) *types.VirtualVmxnet3 {
	return &types.VirtualVmxnet3{VirtualVmxnet: types.VirtualVmxnet{VirtualEthernetCard: types.VirtualEthernetCard{
		VirtualDevice: types.VirtualDevice{
			Key: key, Backing: n.backing,
			Connectable: &types.VirtualDeviceConnectInfo{StartConnected: true, Connected: true, AllowGuestControl: true},
		},
		AddressType: string(types.VirtualEthernetCardMacTypeManual), MacAddress: n.mac,
	}}}
}

func (l *containerVMLayout) disk() string { return path.Join(l.vmName, l.id+".vmdk") }

// vmConfigSpec is the whole containerVM in one spec, so CreateVM makes it in one call (DESIGN §4): a CD-ROM
// with the VCH's bootstrap.iso, the container's disk (already made, a child of the image's top layer), the
// serial line to the VCH, the two file-backed serial ports for logs, and the configuration in extraConfig.
func (b *Backend) vmConfigSpec(l *containerVMLayout) types.VirtualMachineConfigSpec {
	ds := b.where.datastore
	dsRef := ds.Reference()
	var devices object.VirtualDeviceList

	ide := &types.VirtualIDEController{}
	ide.Key = devices.NewKey()
	devices = append(devices, ide)
	cdrom := &types.VirtualCdrom{VirtualDevice: types.VirtualDevice{
		Key: devices.NewKey(),
		Backing: &types.VirtualCdromIsoBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
			FileName: ds.Path(path.Join(b.cfg.VCHName, bootstrapISO)), Datastore: &dsRef,
		}},
		Connectable: &types.VirtualDeviceConnectInfo{StartConnected: true, AllowGuestControl: false},
	}}
	devices.AssignController(cdrom, ide)
	devices = append(devices, cdrom)

	// The controller and the disks' units are explicit (tether/wire): the guest finds its root disk and its
	// volumes by their SCSI addresses.
	scsi := &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{
		SharedBus: types.VirtualSCSISharingNoSharing, ScsiCtlrUnitNumber: wire.ControllerUnit,
	}}
	scsi.Key = devices.NewKey()
	scsi.BusNumber = 0
	devices = append(devices, scsi)
	rootUnit := int32(wire.RootDiskUnit)
	disk := &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Key: devices.NewKey(), ControllerKey: scsi.Key, UnitNumber: &rootUnit,
			Backing: &types.VirtualDiskFlatVer2BackingInfo{
				DiskMode:        string(types.VirtualDiskModePersistent),
				ThinProvisioned: types.NewBool(true),
				VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
					FileName: ds.Path(l.disk()), Datastore: &dsRef,
				},
			},
		},
		CapacityInKB: layerDiskCapacityKB,
	}
	devices = append(devices, disk)
	for _, v := range l.volumes {
		devices = append(devices, volumeDevice(v, scsi.Key, devices.NewKey()))
	}

	devices = append(devices,
		serialPort(devices.NewKey(), &types.VirtualSerialPortURIBackingInfo{
			VirtualDeviceURIBackingInfo: types.VirtualDeviceURIBackingInfo{
				Direction: string(types.VirtualDeviceURIBackingOptionDirectionClient), ServiceURI: l.attachURI,
			},
		}))
	for _, f := range []string{outputLog, tetherDebug} {
		devices = append(devices, serialPort(devices.NewKey(), &types.VirtualSerialPortFileBackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
				FileName: ds.Path(path.Join(l.vmName, f)), Datastore: &dsRef,
			},
		}))
	}

	for _, n := range l.nics {
		devices = append(devices, vmxnet3(devices.NewKey(), n))
	}

	// Every device is added as it is: the disk exists already, so no file operation asks for a new one.
	var changes []types.BaseVirtualDeviceConfigSpec
	for _, d := range devices {
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: d})
	}
	return types.VirtualMachineConfigSpec{
		Name:     l.vmName,
		GuestId:  containerGuestID,
		NumCPUs:  int32(l.cpus),
		MemoryMB: l.memMB,
		// A running containerVM can be given more vCPUs and memory (docker update).
		CpuHotAddEnabled:    types.NewBool(true),
		MemoryHotAddEnabled: types.NewBool(true),
		// The explicit .vmx path puts the VM in the folder that already holds its disk; given only the
		// datastore, vSphere would pick a new folder ("<name>_1") since that one exists.
		Files: &types.VirtualMachineFileInfo{
			VmPathName: ds.Path(path.Join(l.vmName, l.vmName+".vmx")),
		},
		DeviceChange: changes,
		ExtraConfig:  l.extraConfig(),
	}
}

func serialPort(key int32, backing types.BaseVirtualDeviceBackingInfo) *types.VirtualSerialPort {
	return &types.VirtualSerialPort{
		VirtualDevice: types.VirtualDevice{
			Key:         key,
			Backing:     backing,
			Connectable: &types.VirtualDeviceConnectInfo{StartConnected: true, AllowGuestControl: true},
		},
		YieldOnPoll: true,
	}
}

func (l *containerVMLayout) extraConfig() []types.BaseOptionValue {
	opts := []types.BaseOptionValue{
		&types.OptionValue{Key: wire.KeyID, Value: l.id},
		&types.OptionValue{Key: wire.KeyConfig, Value: l.config},
		&types.OptionValue{Key: keyName, Value: l.name},
		&types.OptionValue{Key: keyLayer, Value: l.layer},
		&types.OptionValue{Key: keyCreated, Value: l.created},
		&types.OptionValue{Key: keyBoot, Value: "0"},
		// Each disk reports its UUID as its SCSI serial number, so the guest can tell its disks apart by
		// identity as well as by address.
		&types.OptionValue{Key: diskEnableUUID, Value: "TRUE"},
	}
	if a := encodeAnnotations(l.annotations); a != "" {
		opts = append(opts, &types.OptionValue{Key: keyAnnotations, Value: a})
	}
	for k, v := range l.keys {
		opts = append(opts, &types.OptionValue{Key: k, Value: v})
	}
	return opts
}

// encodeAnnotations is the annotations' extraConfig value; "" removes the key (vSphere's rule for an empty
// value), which is also how an empty set is kept.
func encodeAnnotations(a map[string]string) string {
	if len(a) == 0 {
		return ""
	}
	data, _ := json.Marshal(a) // a map of strings always encodes
	return string(data)
}

// extraConfigChange is a reconfigure spec that sets the given keys only.
func extraConfigChange(kv map[string]string) types.VirtualMachineConfigSpec {
	var opts []types.BaseOptionValue
	for k, v := range kv {
		opts = append(opts, &types.OptionValue{Key: k, Value: v})
	}
	return types.VirtualMachineConfigSpec{ExtraConfig: opts}
}

func itoa(n int) string { return strconv.Itoa(n) }
