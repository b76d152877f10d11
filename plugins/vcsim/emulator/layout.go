package emulator

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/tether/wire"
)

// The device layout the vsphere backend gives a containerVM (DESIGN §4). The file-backed serial ports are
// told apart by their files' names, since the devices themselves are alike.
const (
	bootstrapISO  = "bootstrap.iso"
	outputLogName = "output.log"
	debugLogName  = "tether.debug"
	// applianceLogName is the endpoint VM's file-backed serial port: its init's console.
	applianceLogName = vchwire.ApplianceLog
)

// vmProperties are the properties a boot reads.
var vmProperties = []string{"name", "config.uuid", "config.hardware.device", "config.hardware.numCPU",
	"config.hardware.memoryMB", "config.extraConfig"}

// errPlainVM marks a VM with neither a bootstrap.iso nor an appliance.iso CD-ROM: not a containerVM nor a
// VCH endpoint, so not the emulator's to boot.
var errPlainVM = errors.New("no " + bootstrapISO + " or " + vchwire.ApplianceISO + " CD-ROM: not a containerVM nor an appliance")

// layout is what booting a containerVM needs from its configuration, as datastore paths.
type layout struct {
	name        string
	biosUUID    string // config.uuid, which a VM's SMBIOS reports
	containerID string // from wire.KeyID, for logs and to pick the container's disk; may be empty
	iso         string // "[ds] <vch>/bootstrap.iso"
	disk        string // "[ds] <vm>/<container-id>.vmdk", the writable top of the disk chain
	serialURI   string // the network-backed serial port's ServiceURI; empty without one
	outputLog   string // the file-backed port whose file is output.log
	debugLog    string // the file-backed port whose file is tether.debug
	cpus, memMB int64  // the VM's size, which bounds its guest
	volumes     []volumeDisk

	// appliance marks a VCH endpoint VM: iso is its appliance.iso, and it needs no disk.
	appliance    bool
	applianceLog string // the file-backed port whose file is appliance.log
}

// parseLayout reads vm's devices. A VM without the bootstrap ISO is an appliance when its CD-ROM holds
// appliance.iso, and errPlainVM otherwise; a containerVM without a disk is an error, since there is no
// root filesystem to give the guest.
func parseLayout(vm mo.VirtualMachine) (layout, error) {
	l := layout{name: vm.Name}
	if vm.Config == nil {
		return l, errPlainVM
	}
	l.containerID = extraConfig(vm.Config.ExtraConfig, wire.KeyID)
	l.cpus, l.memMB = int64(vm.Config.Hardware.NumCPU), int64(vm.Config.Hardware.MemoryMB)
	l.biosUUID = vm.Config.Uuid
	var disks []string
	var applianceISO string
	for _, d := range vm.Config.Hardware.Device {
		switch dev := d.(type) {
		case *types.VirtualCdrom:
			if b, ok := dev.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
				switch baseName(b.FileName) {
				case bootstrapISO:
					l.iso = b.FileName
				case vchwire.ApplianceISO:
					applianceISO = b.FileName
				}
			}
		case *types.VirtualDisk:
			if b, ok := dev.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				disks = append(disks, b.FileName)
			}
		case *types.VirtualSerialPort:
			switch b := dev.Backing.(type) {
			case *types.VirtualSerialPortURIBackingInfo:
				if b.Direction == string(types.VirtualDeviceURIBackingOptionDirectionClient) || b.Direction == "" {
					l.serialURI = b.ServiceURI
				}
			case *types.VirtualSerialPortFileBackingInfo:
				switch baseName(b.FileName) {
				case outputLogName:
					l.outputLog = b.FileName
				case debugLogName:
					l.debugLog = b.FileName
				case applianceLogName:
					l.applianceLog = b.FileName
				}
			}
		}
	}
	if l.iso == "" && applianceISO != "" {
		l.iso, l.appliance = applianceISO, true
		return l, nil
	}
	if l.iso == "" {
		return l, errPlainVM
	}
	l.disk = pickDisk(disks, l.containerID)
	if l.disk == "" {
		return l, fmt.Errorf("containerVM %s has no disk backed by a flat VMDK", vm.Name)
	}
	l.volumes = volumeDisks(vm, l.disk)
	return l, nil
}

// pickDisk chooses the container's own disk: the one named after the container, else the first (volumes,
// when they come, are further disks).
func pickDisk(disks []string, id string) string {
	for _, d := range disks {
		if id != "" && baseName(d) == id+".vmdk" {
			return d
		}
	}
	if len(disks) > 0 {
		return disks[0]
	}
	return ""
}

// extraConfig is the value of key in opts, or "".
func extraConfig(opts []types.BaseOptionValue, key string) string {
	for _, o := range opts {
		if v := o.GetOptionValue(); v != nil && v.Key == key {
			s, _ := v.Value.(string)
			return s
		}
	}
	return ""
}

// baseName is the file name of a datastore path ("[ds] a/b.iso" → "b.iso").
func baseName(dsPath string) string {
	if i := strings.Index(dsPath, "]"); i >= 0 {
		dsPath = strings.TrimSpace(dsPath[i+1:])
	}
	return path.Base(dsPath)
}
