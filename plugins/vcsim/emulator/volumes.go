package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// A containerVM's disks other than its own are its volumes (DESIGN §5b). ESXi would show each to the guest as
// a block device at its SCSI address; the emulator hands the tether what the disk is on this machine, by that
// address (wire.DisksEnv): the directory holding the disk's contents, beside its descriptor. The tether mounts
// it at the volume's destination.

// volumeDisk is a disk of the VM other than the container's own.
type volumeDisk struct {
	file string // "[ds] path/volumes/<name>/<name>.vmdk"
	addr string // "bus:unit" of the SCSI controller it is on
}

// volumeDisks lists vm's disks other than container, with their SCSI addresses.
func volumeDisks(vm mo.VirtualMachine, container string) []volumeDisk {
	if vm.Config == nil {
		return nil
	}
	buses := map[int32]int32{}
	for _, d := range vm.Config.Hardware.Device {
		if c, ok := d.(types.BaseVirtualSCSIController); ok {
			sc := c.GetVirtualSCSIController()
			buses[sc.Key] = sc.BusNumber
		}
	}
	var out []volumeDisk
	for _, d := range vm.Config.Hardware.Device {
		vd, ok := d.(*types.VirtualDisk)
		if !ok || vd.UnitNumber == nil {
			continue
		}
		fb, ok := vd.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok || fb.FileName == container {
			continue
		}
		bus, ok := buses[vd.ControllerKey]
		if !ok {
			continue
		}
		out = append(out, volumeDisk{file: fb.FileName, addr: strconv.Itoa(int(bus)) + ":" + strconv.Itoa(int(*vd.UnitNumber))})
	}
	return out
}

// disksEnv is the wire.DisksEnv entry for the VM's volume disks: each one's contents directory. A disk without
// one (never formatted) is left out; the tether reports the volume it cannot find.
func disksEnv(ctx context.Context, ds *datastores, disks []volumeDisk) (string, error) {
	m := map[string]string{}
	for _, d := range disks {
		local, err := ds.local(ctx, d.file)
		if err != nil {
			return "", fmt.Errorf("volume disk %s: %w", d.file, err)
		}
		dir := diskDataDir(local)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		m[d.addr] = dir
	}
	data, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return wire.DisksEnv + "=" + string(data), nil
}

// blockVolumes is disksEnv in block-disk mode: each volume disk exported as a block device, which the tether
// mounts as it would the VM's SCSI disk.
func (m *machine) blockVolumes(g *guest, disks []volumeDisk) (string, error) {
	out := map[string]string{}
	for i, d := range disks {
		local, err := g.e.ds.local(g.ctx, d.file)
		if err != nil {
			return "", fmt.Errorf("volume disk %s: %w", d.file, err)
		}
		if err := realizeDisk(g.ctx, local, ""); err != nil {
			return "", err
		}
		x, err := exportDisk(g.ctx, local, filepath.Join(m.dir, "volume-"+strconv.Itoa(i)+".export"), false)
		if err != nil {
			return "", fmt.Errorf("volume disk %s: %w", d.file, err)
		}
		m.volumes = append(m.volumes, x)
		out[d.addr] = x.loop
	}
	data, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	return wire.DisksEnv + "=" + string(data), nil
}
