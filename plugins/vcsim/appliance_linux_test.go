package vcsim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vcsim/emulator"
	"github.com/vice-engine/vice/tether/wire"
)

// applianceReport is what testdata/appliance reports of its machine.
type applianceReport struct {
	Pid          int               `json:"pid"`
	ChildPid     int               `json:"childPid"`
	Env          map[string]string `json:"env"`
	Version      string            `json:"version"`
	RootReadOnly bool              `json:"rootReadOnly"`
	StateIsDir   bool              `json:"stateIsDir"`
	FD3          string            `json:"fd3"`
	FD4          string            `json:"fd4"`
	RootShared   bool              `json:"rootShared"`
	ConfigName   string            `json:"configName"`
	SecretKey    string            `json:"secretKey"`
	Err          string            `json:"err,omitempty"`
}

const reportKey = vchwire.GuestPrefix + "test.report"

// An appliance VM boots its ISO's /init as PID 1 of its own namespaces, with its own loopback address
// (shown as the VM's guest IP), the ISO's files read-only, a scratch directory and guestinfo. Powering it
// off kills all of it, and nothing else: a containerVM running beside it keeps running. Booting it again
// gives it the same address.
func TestApplianceBoots(t *testing.T) {
	env := newGuestEnv(t)
	env.addApplianceISO(t)

	cvm := env.createContainerVM(t, "beside-c5", wire.ContainerConfig{
		ID: strings.Repeat("a", 64), Name: "beside", Path: "/bin/app", Args: []string{"sleep"}, Boot: 1,
	}, "")
	powerOn(t, cvm)
	waitFor(t, "the container to report running", bootTimeout, func() bool {
		st, _ := status(t, cvm)
		return st.State == wire.StateRunning
	})
	containerPIDs := guestPIDs(filepath.Join(env.runDir, cvm.Reference().Value))
	if len(containerPIDs) == 0 {
		t.Fatal("no container process found")
	}

	vm := env.createApplianceVM(t, "vch-endpoint", "endpoint")
	powerOn(t, vm)
	rep := waitReport(t, vm)
	ip := rep.Env[vchwire.GuestIPEnv]
	addr, err := netip.ParseAddr(ip)
	if err != nil || !emulator.DefaultApplianceNet.Contains(addr) || ip == "127.0.0.1" {
		t.Fatalf("guest IP %q is not an address of its own in %s", ip, emulator.DefaultApplianceNet)
	}
	stateDir := filepath.Join(env.runDir, vm.Reference().Value, "state")
	switch {
	case rep.Pid != 1:
		t.Errorf("init runs as pid %d, want 1", rep.Pid)
	case rep.Env[wire.EmulatorEnv] != "1" || rep.Env["PATH"] == "":
		t.Errorf("env %v", rep.Env)
	case rep.Env[vchwire.ApplianceStateEnv] != stateDir || !rep.StateIsDir:
		t.Errorf("state dir %q (a dir: %v), want %s", rep.Env[vchwire.ApplianceStateEnv], rep.StateIsDir, stateDir)
	case rep.Version != "appliance-test" || !rep.RootReadOnly:
		t.Errorf("root %q: VERSION %q, read-only %v", rep.Env[vchwire.ApplianceRootEnv], rep.Version, rep.RootReadOnly)
	case rep.FD3 != os.DevNull || rep.FD4 != os.DevNull:
		t.Errorf("descriptors 3 and 4 are %q and %q, want %s", rep.FD3, rep.FD4, os.DevNull)
	case rep.RootShared:
		t.Error("the appliance's mounts propagate to the host")
	case rep.ConfigName != "endpoint" || rep.Err != "":
		t.Errorf("config name %q, error %q", rep.ConfigName, rep.Err)
	case rep.SecretKey != "secret key of endpoint":
		t.Errorf("the guest read %s as %q, want what the create spec gave it", vchwire.KeySecretKey, rep.SecretKey)
	}
	// Its temporary files (an endpoint's plugin sockets) go to a directory of its own, removed with it.
	tmp := rep.Env["TMPDIR"]
	if st, err := os.Stat(tmp); tmp == "" || !strings.HasPrefix(filepath.Base(tmp), "vice-guest-") || err != nil || !st.IsDir() {
		t.Errorf("TMPDIR %q (%v), want a directory of the guest's own", tmp, err)
	}
	// The hidden key reached the guest from the .vmx; no API read shows it.
	if v, shown := extraConfigValue(t, vm, vchwire.KeySecretKey); shown {
		t.Errorf("extraConfig shows %s through the API: %q", vchwire.KeySecretKey, v)
	}
	// The host reaches it on its address, as clients reach a VCH endpoint.
	if got := dialGreeting(t, ip); got != "hello from endpoint" {
		t.Errorf("greeting %q", got)
	}
	waitFor(t, "the simulator to show the guest IP", bootTimeout, func() bool { return guestIP(t, vm) == ip })
	waitFor(t, "the init's console in appliance.log", bootTimeout, func() bool {
		return strings.Contains(readFile(env.dir, "vch-endpoint/appliance.log"), "appliance init pid=1 ip="+ip)
	})
	pids := guestPIDs(filepath.Join(env.runDir, "appliances"))
	if len(pids) < 2 {
		t.Fatalf("appliance processes %v, want the init and its child", pids)
	}

	powerOff(t, vm)
	waitFor(t, "the appliance's processes to end", 20*time.Second, func() bool {
		return len(guestPIDs(filepath.Join(env.runDir, "appliances"))) == 0
	})
	waitFor(t, "the state dir to be removed", 20*time.Second, func() bool {
		_, err := os.Stat(stateDir)
		return os.IsNotExist(err)
	})
	waitFor(t, "the guest's TMPDIR to be removed", 20*time.Second, func() bool {
		_, err := os.Stat(tmp)
		return os.IsNotExist(err)
	})
	waitFor(t, "the guest IP to be cleared", bootTimeout, func() bool { return guestIP(t, vm) == "" })
	if st, _ := status(t, cvm); st.State != wire.StateRunning || powerState(t, cvm) != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("the containerVM beside the appliance was affected: %+v", st)
	}
	for _, pid := range containerPIDs {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil {
			t.Errorf("container process %d ended with the appliance", pid)
		}
	}

	// A new boot: same address, fresh state.
	clearReport(t, vm)
	powerOn(t, vm)
	rep2 := waitReport(t, vm)
	if rep2.Env[vchwire.GuestIPEnv] != ip {
		t.Errorf("rebooted with %q, want the same address %s", rep2.Env[vchwire.GuestIPEnv], ip)
	}
	powerOff(t, vm)
	powerOff(t, cvm)
	env.noLeftovers(t)
}

// Two appliances never share an address; an init that exits halts its VM.
func TestApplianceHaltsAndAddresses(t *testing.T) {
	env := newGuestEnv(t)
	env.addApplianceISO(t)
	a := env.createApplianceVM(t, "vch-a", "a")
	b := env.createApplianceVM(t, "vch-b", "halt")
	powerOn(t, a)
	powerOn(t, b)
	ra, rb := waitReport(t, a), waitReport(t, b)
	if ra.Env[vchwire.GuestIPEnv] == rb.Env[vchwire.GuestIPEnv] {
		t.Fatalf("both appliances got %s", ra.Env[vchwire.GuestIPEnv])
	}
	waitFor(t, "the halted appliance's VM to power off", bootTimeout, func() bool {
		return powerState(t, b) == types.VirtualMachinePowerStatePoweredOff
	})
	if powerState(t, a) != types.VirtualMachinePowerStatePoweredOn {
		t.Fatal("the other appliance went down too")
	}
	if got := dialGreeting(t, ra.Env[vchwire.GuestIPEnv]); got != "hello from a" {
		t.Errorf("greeting %q", got)
	}
	powerOff(t, a)
	env.noLeftovers(t)
}

// addApplianceISO writes [datastore1] vch1/appliance.iso: testdata/appliance as /init, a /VERSION and a
// plugin directory, the way the installer lays the image out.
func (env *guestEnv) addApplianceISO(t *testing.T) {
	t.Helper()
	bin := t.TempDir()
	build(t, "./testdata/appliance", filepath.Join(bin, "init"))
	work := t.TempDir()
	for name, content := range map[string]string{"VERSION": "appliance-test\n", "plugins/README": "none\n"} {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(bin, "init"), filepath.Join(work, "init")); err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(env.dir, testVCH, vchwire.ApplianceISO)
	f, err := os.Create(iso)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fsys, err := iso9660.Create(file.New(f, false), 0, 0, 2048, work)
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.Finalize(iso9660.FinalizeOptions{RockRidge: true, VolumeIdentifier: "APPLIANCE"}); err != nil {
		t.Fatal(err)
	}
}

// createApplianceVM makes an endpoint VM as the installer does: appliance.iso on its CD-ROM, appliance.log
// as its file-backed serial port and the config in extraConfig.
func (env *guestEnv) createApplianceVM(t *testing.T, name, configName string) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	ds := func(p string) string { return fmt.Sprintf("[%s] %s", DatastoreName, p) }
	conf, err := json.Marshal(vchwire.ApplianceConfig{Name: configName, TLS: "off", Backend: "vcsim"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := env.folder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name: name, GuestId: string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest), NumCPUs: 1, MemoryMB: 256,
		Files: &types.VirtualMachineFileInfo{VmPathName: ds(name)},
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: vchwire.KeyAppliance, Value: string(conf)},
			&types.OptionValue{Key: vchwire.KeySecretKey, Value: "secret key of " + configName}},
	}, env.pool, nil)
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
	cdrom = devices.InsertIso(cdrom, ds(testVCH+"/"+vchwire.ApplianceISO))
	console := serialPort(-102, &types.VirtualSerialPortFileBackingInfo{
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: ds(name + "/appliance.log")}})
	var change []types.BaseVirtualDeviceConfigSpec
	for _, d := range []types.BaseVirtualDevice{cdrom, console} {
		change = append(change, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: d})
	}
	if task, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: change}); err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(env.dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return vm
}

func powerOn(t *testing.T, vm *object.VirtualMachine) {
	t.Helper()
	task, err := vm.PowerOn(context.Background())
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func powerOff(t *testing.T, vm *object.VirtualMachine) {
	t.Helper()
	if powerState(t, vm) == types.VirtualMachinePowerStatePoweredOff {
		return
	}
	task, err := vm.PowerOff(context.Background())
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func extraConfigValue(t *testing.T, vm *object.VirtualMachine, key string) (string, bool) {
	t.Helper()
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"config.extraConfig"}, &m); err != nil {
		t.Fatal(err)
	}
	for _, o := range m.Config.ExtraConfig {
		if v := o.GetOptionValue(); v.Key == key {
			s, _ := v.Value.(string)
			return s, true
		}
	}
	return "", false
}

func waitReport(t *testing.T, vm *object.VirtualMachine) applianceReport {
	t.Helper()
	var rep applianceReport
	waitFor(t, "the appliance's report", bootTimeout, func() bool {
		v, ok := extraConfigValue(t, vm, reportKey)
		return ok && json.Unmarshal([]byte(v), &rep) == nil
	})
	return rep
}

func clearReport(t *testing.T, vm *object.VirtualMachine) {
	t.Helper()
	task, err := vm.Reconfigure(context.Background(), types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: reportKey, Value: ""}}})
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func guestIP(t *testing.T, vm *object.VirtualMachine) string {
	t.Helper()
	var m mo.VirtualMachine
	if err := vm.Properties(context.Background(), vm.Reference(), []string{"guest.ipAddress"}, &m); err != nil {
		t.Fatal(err)
	}
	if m.Guest == nil {
		return ""
	}
	return m.Guest.IpAddress
}

// dialGreeting connects to the appliance's admin port and reads its one line.
func dialGreeting(t *testing.T, ip string) string {
	t.Helper()
	var line string
	waitFor(t, "the appliance to answer on "+ip, bootTimeout, func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(vchwire.PortAdmin)), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err == nil
	})
	return strings.TrimSpace(line)
}
