package vch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/installer/vchwire"
)

func TestUpgradeAndRollback(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	o, a, _ := createVCH(t, s, "vch1", "v1.0.0", nil)
	box := s.ContainerVM(t, "vch1", "busybox-1")
	common := CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1", Timeout: 30 * time.Second}
	boots := a.Boots()

	// The same version: nothing to do.
	m, out := testManager(t)
	res, err := m.Upgrade(ctx, UpgradeOptions{CommonOptions: common, ApplianceISO: o.ApplianceISO, BootstrapISO: o.BootstrapISO, CertPath: o.CertPath})
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpToDate || res.Version != "v1.0.0" || !strings.Contains(out.String(), "already up to date") || a.Boots() != boots {
		t.Fatalf("same-version upgrade did something: %+v\n%s", res, out.String())
	}

	// An endpoint made before it set disk.EnableUUID gains it with the upgrade's power cycle.
	task, err := object.NewVirtualMachine(s.Login(t), readVCH(t, s, "vch1").VM.Reference()).Reconfigure(ctx, types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: diskEnableUUID, Value: ""}}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if v := readVCH(t, s, "vch1").Extra[diskEnableUUID]; v != "" {
		t.Fatalf("%s still %q", diskEnableUUID, v)
	}

	app2, boot2 := vchtest.ISOs(t, "v2.0.0")
	m, out = testManager(t)
	res, err = m.Upgrade(ctx, UpgradeOptions{CommonOptions: common, ApplianceISO: app2, BootstrapISO: boot2, CertPath: o.CertPath})
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if res.UpToDate || res.Version != "v2.0.0" || res.Previous != "v1.0.0" || res.Access.DockerAddr() != a.IP+":2376" {
		t.Errorf("upgrade result %+v", res)
	}
	for _, want := range []string{"Upgrading VCH \"vch1\" from version v1.0.0 to v2.0.0", "Saving the ISOs and configuration of version v1.0.0",
		"Uploading images for container", "Waiting for IP information", "Waiting for major appliance components to launch",
		"Reusing the VCH's server certificate", "Docker API endpoint check OK", `Upgrade of VCH "vch1" to version v2.0.0 succeeded`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("upgrade output lacks %q", want)
		}
	}
	if a.Boots() != boots+1 {
		t.Errorf("the appliance booted %d times during the upgrade, want 1", a.Boots()-boots)
	}
	v := readVCH(t, s, "vch1")
	if v.Version != "v2.0.0" || v.Previous != "v1.0.0" || v.Config.Version != "v2.0.0" {
		t.Errorf("after upgrade: version %q previous %q config %q", v.Version, v.Previous, v.Config.Version)
	}
	if v.Status == nil || v.Status.State != vchwire.ApplianceRunning {
		t.Errorf("after upgrade the appliance is %+v", v.Status)
	}
	if v.Extra[diskEnableUUID] != "TRUE" {
		t.Errorf("after upgrade %s = %q, want TRUE", diskEnableUUID, v.Extra[diskEnableUUID])
	}
	for _, f := range []string{"appliance-v1.0.0.iso", "bootstrap-v1.0.0.iso", "appliance-v1.0.0.json"} {
		if _, err := os.Stat(filepath.Join(s.DatastoreDir, "vch1", f)); err != nil {
			t.Errorf("saved file: %v", err)
		}
	}
	if img, err := ReadISO(filepath.Join(s.DatastoreDir, "vch1", "appliance.iso")); err != nil || img.Version != "v2.0.0" {
		t.Errorf("appliance.iso on the datastore: %v %+v", err, img)
	}
	// The configuration saved for the rollback keeps its secrets sealed, like extraConfig.
	serverKey, _ := os.ReadFile(filepath.Join(o.CertPath, "server-key.pem"))
	for _, leak := range s.Leaks(t, string(serverKey)) {
		t.Error(leak)
	}
	if img, err := ReadISO(filepath.Join(s.DatastoreDir, "vch1", "bootstrap.iso")); err != nil || img.Version != "v2.0.0" {
		t.Errorf("bootstrap.iso on the datastore: %v %+v", err, img)
	}
	// The containerVM was not touched.
	if st, err := box.PowerState(ctx); err != nil || st != "poweredOn" {
		t.Errorf("containerVM after upgrade: %v %v", st, err)
	}

	// Rollback returns to v1.0.0 with its configuration, and removes the saved files.
	m, _ = testManager(t)
	res, err = m.Rollback(ctx, UpgradeOptions{CommonOptions: common, CertPath: o.CertPath})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if res.Version != "v1.0.0" || res.Previous != "" || res.Access.DockerAddr() != a.IP+":2376" {
		t.Errorf("rollback result %+v", res)
	}
	v = readVCH(t, s, "vch1")
	if v.Version != "v1.0.0" || v.Previous != "" || v.Config.Version != "v1.0.0" {
		t.Errorf("after rollback: version %q previous %q config %q", v.Version, v.Previous, v.Config.Version)
	}
	var cfg vchwire.ApplianceConfig
	_ = json.Unmarshal([]byte(v.Extra[vchwire.KeyAppliance]), &cfg)
	if cfg.Plugins[0].SHA256 == "" || cfg.Plugins[0].SHA256 != mustPlugins(t, o.ApplianceISO)[0].SHA256 {
		t.Errorf("rolled back plugins %+v", cfg.Plugins)
	}
	if img, err := ReadISO(filepath.Join(s.DatastoreDir, "vch1", "appliance.iso")); err != nil || img.Version != "v1.0.0" {
		t.Errorf("appliance.iso after rollback: %v %+v", err, img)
	}
	if _, err := os.Stat(filepath.Join(s.DatastoreDir, "vch1", "appliance-v1.0.0.iso")); !os.IsNotExist(err) {
		t.Errorf("saved ISO kept after the rollback: %v", err)
	}
	if st, err := box.PowerState(ctx); err != nil || st != "poweredOn" {
		t.Errorf("containerVM after rollback: %v %v", st, err)
	}

	// No second rollback.
	m, _ = testManager(t)
	if _, err := m.Rollback(ctx, UpgradeOptions{CommonOptions: common}); err == nil || !strings.Contains(err.Error(), "no previous version") {
		t.Errorf("second rollback: %v", err)
	}
}

// An upgrade whose appliance fails comes back to the old version by itself.
func TestUpgradeFailureRollsBack(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	o, a, _ := createVCH(t, s, "vch1", "v1.0.0", nil)
	common := CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1", Timeout: 30 * time.Second}
	app2, boot2 := vchtest.ISOs(t, "v2.0.0")
	a.SetFail("vice-engine: plugin vcsim does not start")
	go func() {
		// The old version works again once the upgrade has failed.
		for a.Current().State != vchwire.ApplianceFailed {
			time.Sleep(10 * time.Millisecond)
		}
		a.SetFail("")
	}()
	m, out := testManager(t)
	_, err := m.Upgrade(ctx, UpgradeOptions{CommonOptions: common, ApplianceISO: app2, BootstrapISO: boot2, CertPath: o.CertPath})
	if err == nil || !strings.Contains(err.Error(), "rolled back to v1.0.0") || !strings.Contains(err.Error(), "plugin vcsim does not start") {
		t.Fatalf("failed upgrade: %v\n%s", err, out.String())
	}
	if !IsReported(err) || !strings.Contains(out.String(), "Rolled back to version v1.0.0") {
		t.Errorf("the rollback was not reported:\n%s", out.String())
	}
	v := readVCH(t, s, "vch1")
	if v.Version != "v1.0.0" || v.Config.Version != "v1.0.0" || v.Status == nil || v.Status.State != vchwire.ApplianceRunning {
		t.Errorf("after the failed upgrade: version %q config %q status %+v", v.Version, v.Config.Version, v.Status)
	}
	if img, err := ReadISO(filepath.Join(s.DatastoreDir, "vch1", "appliance.iso")); err != nil || img.Version != "v1.0.0" {
		t.Errorf("appliance.iso after the failed upgrade: %v %+v", err, img)
	}
}

func mustPlugins(t *testing.T, iso string) []vchwire.PluginRecord {
	img, err := ReadISO(iso)
	if err != nil {
		t.Fatal(err)
	}
	return img.Plugins
}
