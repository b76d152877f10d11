package appliance

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/installer/iso"
	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vcsim"
)

// The real init, booted from a real appliance.iso by the hypervisor emulator: it is PID 1 of its
// namespaces, reads its config through the emulator's guestinfo socket, reports its emulated address,
// waits for the certificates the "installer" (this test) issues for it, and runs vice-engine (this test
// binary, as a fake) on that address. Powering the VM off ends all of it.
func TestApplianceUnderEmulator(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting guests needs root")
	}
	ctx := context.Background()
	bin := t.TempDir()
	initBin := filepath.Join(bin, "vice-appliance")
	build := exec.Command("go", "build", "-o", initBin, "../cmd/vice-appliance")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build vice-appliance: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var plugins []string
	for _, name := range []string{"vice-plugin-vcsim", "vice-plugin-vsphere"} {
		p := filepath.Join(bin, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n# "+name+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		plugins = append(plugins, p)
	}

	dsDir := t.TempDir()
	isoPath := filepath.Join(dsDir, "vch1", vchwire.ApplianceISO)
	if err := os.MkdirAll(filepath.Dir(isoPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := iso.BuildAppliance(ctx, iso.ApplianceFiles{Init: initBin, Engine: self, Plugins: plugins}, isoPath,
		iso.WithVersion("e2e")); err != nil {
		t.Fatal(err)
	}
	info, err := iso.ReadAppliance(isoPath)
	if err != nil {
		t.Fatal(err)
	}

	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	runDir := filepath.Join(t.TempDir(), "run")
	inf, err := vcsim.Start(ctx, vcsim.Options{DatastoreDir: dsDir, RunDir: runDir,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inf.Close)
	c, err := govmomi.NewClient(ctx, inf.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })

	// The installer's part: a key for the VM, the target's password sealed to it.
	keys := newFakeGuestInfo()
	target, pass, err := vchwire.SealTarget(keys.key.PublicKey(), inf.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg := vchwire.ApplianceConfig{Name: "vch1", Version: info.Version, Target: target, TargetPassword: pass, Thumbprint: inf.Thumbprint(),
		Pool: "/DC0/host/DC0_C0/Resources", ImageStore: vcsim.DatastoreName, TLS: vchwire.TLSServer, Backend: "vcsim"}
	for _, p := range info.Plugins {
		cfg.Plugins = append(cfg.Plugins, p.Record())
	}
	vm := createEndpointVM(t, c, cfg, keys.key)
	task, err := vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dsDir, "vch1-endpoint", "appliance.log")
	fail := func(format string, args ...any) {
		t.Helper()
		b, _ := os.ReadFile(logFile)
		t.Fatalf(format+"\nappliance.log:\n%s", append(args, b)...)
	}

	var st vchwire.ApplianceStatus
	waitStatus := func(state string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			if v, ok := extraConfig(t, vm, vchwire.KeyApplianceStatus); ok && json.Unmarshal([]byte(v), &st) == nil && st.State == state {
				return
			}
			if time.Now().After(deadline) {
				fail("no status %s; last %+v", state, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitStatus(vchwire.ApplianceWaitingTLS)
	if !strings.HasPrefix(st.IP, "127.64.") || st.DockerHost != "tcp://"+st.IP+":2376" || st.Version != "e2e" {
		fail("status %+v", st)
	}
	// The installer issues the server certificate for the reported address.
	pki := newPKI(t, st.IP)
	b, _ := json.Marshal(pki.wire(t, keys, false))
	setExtraConfig(t, vm, vchwire.KeyApplianceTLS, string(b))
	waitStatus(vchwire.ApplianceRunning)

	// It opened both secrets (the server key serves TLS, the plugin's manifest has the target with its
	// password) and none shows in extraConfig.
	password, _ := inf.URL().User.Password()
	ms, err := pluginhost.ReadManifests(filepath.Join(runDir, vm.Reference().Value, "state", PluginsDir))
	if err != nil || len(ms) == 0 || !strings.Contains(strings.Join(ms[0].Env, " "), ":"+password+"@") {
		t.Errorf("the plugin's manifest %+v (%v) lacks the opened target", ms, err)
	}
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.extraConfig"}, &props); err != nil {
		t.Fatal(err)
	}
	for _, o := range props.Config.ExtraConfig {
		ov := o.GetOptionValue()
		v, _ := ov.Value.(string)
		if ov.Key == vchwire.KeySecretKey || strings.Contains(v, password) || strings.Contains(v, "PRIVATE KEY") {
			t.Errorf("extraConfig %s shows a secret: %.200s", ov.Key, v)
		}
	}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	defer client.CloseIdleConnections()
	// The portal logs its users in to the simulated vCenter with their own credentials.
	for url, want := range map[string]string{
		"https://" + st.IP + ":2376/_ping":      "OK",
		st.AdminPortal + "/api/status":          `"state": "running"`,
		st.AdminPortal + "/logs/" + InitLogName: "appliance booting",
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.SetBasicAuth(inf.URL().User.Username(), password)
		resp, err := client.Do(req)
		if err != nil {
			fail("GET %s: %v", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			fail("GET %s: %q lacks %q", url, body, want)
		}
	}
	for _, pass := range []string{"", "wrong"} {
		req, _ := http.NewRequest(http.MethodGet, st.AdminPortal+"/api/status", nil)
		if pass != "" {
			req.SetBasicAuth(inf.URL().User.Username(), pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			fail("portal: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			fail("portal with password %q: %s", pass, resp.Status)
		}
	}
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "appliance booting") {
		fail("the init's log is not in appliance.log")
	}

	// The init is PID 1 of its PID namespace; the engine runs there too (its number is whatever the init's
	// threads left).
	pids := processesUnder(filepath.Join(runDir, "appliances"))
	var nspids []string
	for _, pid := range pids {
		nspids = append(nspids, nsPid(pid))
	}
	if len(pids) != 2 || !containsAll(nspids, "1") || containsAll(nspids, "") {
		fail("appliance processes %v with namespace pids %v", pids, nspids)
	}

	task, err = vm.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(processesUnder(runDir)) > 0 || len(inf.Emulator().Running()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes left after power-off: %v", processesUnder(runDir))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(runDir, vm.Reference().Value)); !os.IsNotExist(err) {
		t.Errorf("the VM's run folder is left: %v", err)
	}
}

func createEndpointVM(t *testing.T, c *govmomi.Client, cfg vchwire.ApplianceConfig, key *vchwire.SecretKey) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	pool, err := f.DefaultResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := f.DefaultFolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds := func(p string) string { return fmt.Sprintf("[%s] %s", vcsim.DatastoreName, p) }
	conf, _ := json.Marshal(cfg)
	task, err := folder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name: "vch1-endpoint", GuestId: string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest), NumCPUs: 1, MemoryMB: 512,
		Files: &types.VirtualMachineFileInfo{VmPathName: ds("vch1-endpoint")},
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: vchwire.KeyAppliance, Value: string(conf)},
			&types.OptionValue{Key: vchwire.KeySecretKey, Value: key.String()},
			&types.OptionValue{Key: vchwire.KeyPublicKey, Value: key.PublicKey().String()}},
	}, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm := object.NewVirtualMachine(c.Client, res.Result.(types.ManagedObjectReference))
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
	cdrom = devices.InsertIso(cdrom, ds("vch1/"+vchwire.ApplianceISO))
	serial := &types.VirtualSerialPort{VirtualDevice: types.VirtualDevice{Key: -102, Backing: &types.VirtualSerialPortFileBackingInfo{
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: ds("vch1-endpoint/appliance.log")}}}, YieldOnPoll: true}
	var change []types.BaseVirtualDeviceConfigSpec
	for _, d := range []types.BaseVirtualDevice{cdrom, serial} {
		change = append(change, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: d})
	}
	if task, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: change}); err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func extraConfig(t *testing.T, vm *object.VirtualMachine, key string) (string, bool) {
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

func setExtraConfig(t *testing.T, vm *object.VirtualMachine, key, value string) {
	t.Helper()
	task, err := vm.Reconfigure(context.Background(), types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}}})
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
}

// processesUnder are the host PIDs of processes whose executable lies below dir.
func processesUnder(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// nsPid is a process's PID in its own PID namespace (the last NSpid field).
func nsPid(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "NSpid:" {
			return f[len(f)-1]
		}
	}
	return ""
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
