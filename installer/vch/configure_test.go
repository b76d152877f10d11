package vch

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/installer/vchwire"
)

func TestConfigure(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	// A resource pool (--use-rp); the vApp case is TestConfigureVAppLimits.
	o, a, _ := createVCH(t, s, "vch1", "v1.0.0", func(o *CreateOptions) { o.UseRP = true })
	common := CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1", Timeout: 30 * time.Second}
	boots := a.Boots()

	// Pool limits change on the pool, without a restart.
	cpu, mem := int64(3000), int64(4096)
	m, _ := testManager(t)
	if res, err := m.Configure(ctx, ConfigureOptions{CommonOptions: common, CPUMHz: &cpu, MemoryMB: &mem}); err != nil || res.Restarted {
		t.Fatalf("configure limits: %v %+v", err, res)
	}
	v := readVCH(t, s, "vch1")
	if c, mm, err := poolLimits(ctx, object.NewResourcePool(s.Client, v.Pool.Reference())); err != nil || c != 3000 || mm != 4096 {
		t.Errorf("limits %d %d %v", c, mm, err)
	}
	if a.Boots() != boots {
		t.Errorf("changing the limits restarted the appliance")
	}
	zero := int64(0)
	m, _ = testManager(t)
	if _, err := m.Configure(ctx, ConfigureOptions{CommonOptions: common, CPUMHz: &zero}); err != nil {
		t.Fatal(err)
	}
	if c, mm, _ := poolLimits(ctx, object.NewResourcePool(s.Client, v.Pool.Reference())); c != -1 || mm != 4096 {
		t.Errorf("after removing the CPU limit: %d %d", c, mm)
	}

	// DNS, a volume store and a container network: the config is rewritten and the appliance restarted.
	m, out := testManager(t)
	res, err := m.Configure(ctx, ConfigureOptions{CommonOptions: common, DNS: []string{"10.0.0.1", "10.0.0.2"},
		VolumeStores: []string{"datastore1/more-volumes:fast"}, ContainerNetworks: []string{"VM Network:external"}, CertPath: ""})
	if err != nil {
		t.Fatalf("configure: %v", err)
	}
	if !res.Restarted || res.NewCertificates || res.Access.DockerAddr() != a.IP+":2376" {
		t.Errorf("configure result %+v (docker at %q)", res, res.Access.DockerAddr())
	}
	if a.Boots() != boots+1 {
		t.Errorf("the appliance booted %d times, want 1", a.Boots()-boots)
	}
	v = readVCH(t, s, "vch1")
	if !slices.Equal(v.Config.DNS, []string{"10.0.0.1", "10.0.0.2"}) || v.Config.VolumeStores["fast"] != "ds://datastore1/more-volumes" ||
		v.Config.VolumeStores["default"] != "ds://datastore1/volumes/vch1" || len(v.Config.ContainerNetworks) != 1 ||
		!reflect.DeepEqual(v.Config.ContainerNetworks[0], vchwire.ContainerNetwork{PortGroup: "VM Network", Alias: "external"}) {
		t.Errorf("config after configure: %+v", v.Config)
	}
	if _, err := os.Stat(filepath.Join(s.DatastoreDir, "more-volumes")); err != nil {
		t.Errorf("new volume store folder: %v", err)
	}
	if v.Status == nil || v.Status.State != vchwire.ApplianceRunning || !strings.Contains(out.String(), `VCH "vch1" reconfigured`) {
		t.Errorf("after configure: %+v", v.Status)
	}

	// The registry settings replace the current ones.
	m, _ = testManager(t)
	if _, err := m.Configure(ctx, ConfigureOptions{CommonOptions: common, RegistryMirrors: []string{"http://127.0.0.1:5000"},
		WhitelistRegistries: []string{"10.0.0.0/8"}, InsecureRegistries: []string{"reg.example.com:5000"}}); err != nil {
		t.Fatalf("configure registries: %v", err)
	}
	v = readVCH(t, s, "vch1")
	if !slices.Equal(v.Config.RegistryMirrors, []string{"http://127.0.0.1:5000"}) || !slices.Equal(v.Config.WhitelistRegistries, []string{"10.0.0.0/8"}) ||
		!slices.Equal(v.Config.InsecureRegistries, []string{"reg.example.com:5000"}) || !slices.Equal(v.Config.DNS, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("config after configuring registries: %+v", v.Config)
	}
	boots = a.Boots() - 1

	// Conflicts and missing things are refused before anything changes.
	for _, tc := range []struct {
		o    ConfigureOptions
		want string
	}{
		{ConfigureOptions{VolumeStores: []string{"datastore1/elsewhere:fast"}}, `volume store "fast" is already ds://datastore1/more-volumes`},
		{ConfigureOptions{VolumeStores: []string{"nope/x:other"}}, "Suggested values for --volume-store:"},
		{ConfigureOptions{ContainerNetworks: []string{"nope:other"}}, "Suggested values for --container-network:"},
		{ConfigureOptions{ContainerNetworks: []string{"VCH Bridge:external"}}, `container network "external" is already port group "VM Network"`},
		{ConfigureOptions{DNS: []string{"x"}}, "is not an IP address"},
		{ConfigureOptions{RegistryMirrors: []string{"ftp://mirror"}}, "--registry-mirror"},
		{ConfigureOptions{}, "nothing to configure"},
	} {
		tc.o.CommonOptions = common
		m, _ := testManager(t)
		if _, err := m.Configure(ctx, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("configure %+v: %v, want %q", tc.o, err, tc.want)
		}
	}
	if a.Boots() != boots+1 {
		t.Errorf("a refused configure restarted the appliance")
	}

	// New certificates: a new CA, server and client certificate; the old ones are moved aside.
	oldCA, _ := os.ReadFile(filepath.Join(o.CertPath, certs.CAFile))
	m, out = testManager(t)
	res, err = m.Configure(ctx, ConfigureOptions{CommonOptions: common, CertPath: o.CertPath, RegenerateCerts: true, CNames: []string{"new.example.com"}})
	if err != nil {
		t.Fatalf("configure --tls-regenerate: %v", err)
	}
	if !res.Restarted || !res.NewCertificates || res.Access.CertDir != o.CertPath {
		t.Errorf("configure --tls-regenerate result %+v", res)
	}
	newCA, _ := os.ReadFile(filepath.Join(o.CertPath, certs.CAFile))
	if string(newCA) == string(oldCA) || len(newCA) == 0 {
		t.Error("the CA was not replaced")
	}
	v = readVCH(t, s, "vch1")
	if v.TLS == nil || v.TLS.CACert != string(newCA) {
		t.Error("the appliance did not get the new CA")
	}
	srv, _ := certs.ParseCertificate([]byte(v.TLS.ServerCert))
	if !certs.Covers(srv, a.IP, "new.example.com") {
		t.Errorf("new server certificate names %v %v", srv.IPAddresses, srv.DNSNames)
	}
	if !strings.Contains(out.String(), "Docker API endpoint check OK") || !strings.Contains(out.String(), "Moved the old certificates") {
		t.Errorf("configure --tls-regenerate output:\n%s", out.String())
	}
	// The new server key went to the appliance sealed, as the first did (the appliance opened it to serve).
	newKey, _ := os.ReadFile(filepath.Join(o.CertPath, certs.ServerKeyFile))
	for _, leak := range s.Leaks(t, string(newKey)) {
		t.Error(leak)
	}
}

// A VCH's vApp (the default on vCenter) gets its limits changed in place, without a restart.
func TestConfigureVAppLimits(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	_, a, _ := createVCH(t, s, "vch1", "v1.0.0", nil)
	boots := a.Boots()
	cpu, mem := int64(1000), int64(2048)
	m, _ := testManager(t)
	if _, err := m.Configure(ctx, ConfigureOptions{CommonOptions: CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1", Timeout: 30 * time.Second}, CPUMHz: &cpu, MemoryMB: &mem}); err != nil {
		t.Fatalf("configure the vApp's limits: %v", err)
	}
	v := readVCH(t, s, "vch1")
	if v.Pool.Reference().Type != "VirtualApp" {
		t.Fatalf("the VCH's pool is a %s, want a vApp", v.Pool.Reference().Type)
	}
	if c, mm, err := poolLimits(ctx, object.NewResourcePool(s.Client, v.Pool.Reference())); err != nil || c != 1000 || mm != 2048 {
		t.Errorf("vApp limits %d %d %v", c, mm, err)
	}
	if a.Boots() != boots {
		t.Errorf("changing the limits restarted the appliance")
	}
}

func TestDebug(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	_, a, _ := createVCH(t, s, "vch1", "v1.0.0", nil)
	boots := a.Boots()
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@example"
	common := CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1"}
	m, _ := testManager(t)
	res, err := m.Debug(ctx, DebugOptions{CommonOptions: common, EnableSSH: true, AuthorizedKeys: []string{key}})
	if err != nil {
		t.Fatalf("debug: %v", err)
	}
	v := readVCH(t, s, "vch1")
	if v.Debug == nil || !v.Debug.SSH || len(v.Debug.AuthorizedKeys) != 1 || v.Debug.AuthorizedKeys[0] != key {
		t.Errorf("debug key: %+v", v.Debug)
	}
	if *res != (DebugResult{SSH: true, Keys: 1, IP: a.IP}) || a.Boots() != boots {
		t.Errorf("debug result %+v (or a restart)", res)
	}
	m, _ = testManager(t)
	if _, err := m.Debug(ctx, DebugOptions{CommonOptions: common, EnableSSH: true}); err == nil || !strings.Contains(err.Error(), "--authorized-key") {
		t.Errorf("debug without a key: %v", err)
	}
	if _, err := m.Debug(ctx, DebugOptions{CommonOptions: common}); err == nil || !strings.Contains(err.Error(), "--disable-ssh") {
		t.Errorf("debug with neither switch: %v", err)
	}
	m, _ = testManager(t)
	if res, err := m.Debug(ctx, DebugOptions{CommonOptions: common, DisableSSH: true}); err != nil || res.SSH {
		t.Fatal(res, err)
	}
	if v := readVCH(t, s, "vch1"); v.Debug == nil || v.Debug.SSH {
		t.Errorf("after --disable-ssh: %+v", v.Debug)
	}
}
