package vcsim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// createContainerVM makes a containerVM the way the vsphere backend describes it: the bootstrap ISO, the
// container's disk as a child of the image's top layer, the serial ports and the config in extraConfig.
func (env *guestEnv) createContainerVM(t *testing.T, name string, cfg wire.ContainerConfig, serialURI string) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	ds := func(p string) string { return fmt.Sprintf("[%s] %s", DatastoreName, p) }
	writeDisk(t, filepath.Join(env.dir, name, cfg.ID+".vmdk"),
		ds(fmt.Sprintf("VIC/%s/images/%s/%s.vmdk", testVCH, layerTop, layerTop)), nil)
	conf, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name: name, GuestId: string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest), NumCPUs: 1, MemoryMB: 64,
		Files: &types.VirtualMachineFileInfo{VmPathName: ds(name)},
		ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: wire.KeyID, Value: cfg.ID},
			&types.OptionValue{Key: wire.KeyConfig, Value: string(conf)},
		},
	}
	task, err := env.folder.CreateVM(ctx, spec, env.pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := object.NewVirtualMachine(env.c.Client, res.Result.(types.ManagedObjectReference))

	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ide, err := devices.FindIDEController("")
	if err != nil {
		t.Fatal(err)
	}
	cdrom, err := devices.CreateCdrom(ide)
	if err != nil {
		t.Fatal(err)
	}
	cdrom = devices.InsertIso(cdrom, ds(testVCH+"/bootstrap.iso"))
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		t.Fatal(err)
	}
	scsi.GetVirtualDevice().Key = -100
	unit := int32(0)
	diskDev := &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{Key: -101, ControllerKey: -100, UnitNumber: &unit,
			Backing: &types.VirtualDiskFlatVer2BackingInfo{
				VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: ds(name + "/" + cfg.ID + ".vmdk")},
				DiskMode:                     string(types.VirtualDiskModePersistent), ThinProvisioned: types.NewBool(true),
			}},
		CapacityInKB: 1024,
	}
	add := []types.BaseVirtualDevice{cdrom, scsi, diskDev,
		serialPort(-102, &types.VirtualSerialPortFileBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: ds(name + "/output.log")}}),
		serialPort(-103, &types.VirtualSerialPortFileBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: ds(name + "/tether.debug")}}),
	}
	if serialURI != "" {
		add = append(add, serialPort(-104, &types.VirtualSerialPortURIBackingInfo{VirtualDeviceURIBackingInfo: types.VirtualDeviceURIBackingInfo{
			ServiceURI: serialURI, Direction: string(types.VirtualDeviceURIBackingOptionDirectionClient)}}))
	}
	change := make([]types.BaseVirtualDeviceConfigSpec, len(add))
	for i, d := range add {
		change[i] = &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: d}
	}
	task, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: change})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	return vm
}

func serialPort(key int32, b types.BaseVirtualDeviceBackingInfo) *types.VirtualSerialPort {
	return &types.VirtualSerialPort{VirtualDevice: types.VirtualDevice{Key: key, Backing: b}, YieldOnPoll: true}
}

// status reads the guest's status from extraConfig through the API, as the backend does.
func status(t *testing.T, vm *object.VirtualMachine) (wire.GuestStatus, bool) {
	t.Helper()
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"config.extraConfig"}, &m); err != nil {
		t.Fatal(err)
	}
	for _, o := range m.Config.ExtraConfig {
		if v := o.GetOptionValue(); v.Key == wire.KeyStatus {
			var s wire.GuestStatus
			if err := json.Unmarshal([]byte(v.Value.(string)), &s); err != nil {
				t.Fatalf("status %q: %v", v.Value, err)
			}
			return s, true
		}
	}
	return wire.GuestStatus{}, false
}

// guestPIDs are the host PIDs of processes running an executable from the emulator's run folder.
func guestPIDs(runDir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, runDir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// hostMounts are the lines of this process's mountinfo that mention dir.
func hostMounts(t *testing.T, dirs ...string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, d := range dirs {
			if d != "" && strings.Contains(l, d) {
				found = append(found, l)
			}
		}
	}
	return found
}

// noLeftovers checks that no guest process and no mount of the datastore or run folder remain.
func (env *guestEnv) noLeftovers(t *testing.T) {
	t.Helper()
	waitFor(t, "guests to be cleaned up", 20e9, func() bool {
		return len(env.inf.Emulator().Running()) == 0 && len(guestPIDs(env.runDir)) == 0
	})
	if m := hostMounts(t, env.dir, env.runDir); len(m) > 0 {
		t.Fatalf("mounts left in the host's namespace:\n%s", strings.Join(m, "\n"))
	}
}
