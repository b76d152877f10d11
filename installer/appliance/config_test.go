package appliance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/installer/vchwire"
)

// testPassword is the target's password in the tests: long and odd enough to be found wherever it leaks.
const testPassword = "Pa55/w0rd:of@the-target"

// testConfig is a config as vice-machine writes it; the target's password, when gi is given, is sealed to its
// key.
func testConfig(t *testing.T, gi *fakeGuestInfo, recs []vchwire.PluginRecord) *vchwire.ApplianceConfig {
	var pass vchwire.Sealed
	if gi != nil {
		pass = gi.seal(t, vchwire.SecretTargetPassword, testPassword)
	}
	return &vchwire.ApplianceConfig{
		Name: "vch1", Version: "v9.9.9", Target: "https://user@vc.example.com/sdk", TargetPassword: pass, Thumbprint: "AB:CD",
		Datacenter: "/dc1", ComputeResource: "/dc1/host/cluster1", Pool: "/dc1/host/cluster1/Resources/vch1",
		ImageStore: "datastore1", TLS: vchwire.TLSVerify, Backend: "vsphere", Plugins: recs,
		InsecureRegistries: []string{"reg.local:5000", "10.0.0.0/8"},
	}
}

func TestPluginManifests(t *testing.T) {
	root, recs := testRoot(t)
	recs[1].Args = []string{"--cpu-limit-mhz", "1000"}
	cfg := testConfig(t, nil, recs)
	ms, err := Manifests(cfg, "https://user:pass@vc.example.com/sdk", root, "10.1.2.3:2377")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), PluginsDir)
	if err := writeManifests(dir, ms); err != nil {
		t.Fatal(err)
	}
	// vice-engine reads them back and accepts them: one manifest per registered plugin.
	read, err := pluginhost.ReadManifests(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != len(recs) || !slices.ContainsFunc(read, func(m *pluginhost.Manifest) bool { return m.Name == "vsphere" }) {
		t.Fatalf("manifests %+v", read)
	}
	base := []string{"--thumbprint", "AB:CD", "--name", "vch1",
		"--datacenter", "/dc1", "--compute-resource", "/dc1/host/cluster1", "--pool", "/dc1/host/cluster1/Resources/vch1",
		"--datastore", "datastore1", "--attach-listen", "10.1.2.3:2377", "--public-address", "10.1.2.3"}
	for _, m := range read {
		i := slices.IndexFunc(recs, func(r vchwire.PluginRecord) bool { return r.Name == m.Name })
		if m.Name != recs[i].Name || m.SHA256 != recs[i].SHA256 || m.Path != filepath.Join(root, recs[i].File) {
			t.Errorf("manifest %d: %+v", i, m)
		}
		if want := []string{"VICE_TARGET=https://user:pass@vc.example.com/sdk"}; !slices.Equal(m.Env, want) {
			t.Errorf("%s env %q, want the target there and not in the arguments", m.Name, m.Env)
		}
		if want := append(slices.Clone(base), recs[i].Args...); !slices.Equal(m.Args, want) {
			t.Errorf("%s args\n got %q\nwant %q", m.Name, m.Args, want)
		}
		st, err := os.Stat(filepath.Join(dir, m.Name+".json"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v (it holds the target's password)", m.Name, st.Mode(), err)
		}
		if sum, err := pluginhost.FileSHA256(m.Path); err != nil || sum != m.SHA256 {
			t.Errorf("%s: checksum %s %v", m.Name, sum, err)
		}
	}

	cfg.Backend = "none"
	if _, err := Manifests(cfg, "https://user:pass@vc.example.com/sdk", root, "10.1.2.3:2377"); err == nil {
		t.Error("registered no backend")
	}

	// Optional settings are left out; debug is passed on.
	cfg = &vchwire.ApplianceConfig{Name: "v", Target: "https://h/sdk", Debug: true, Plugins: recs[:1]}
	got := PluginArgs(cfg, recs[0], "127.64.0.2:2377")
	want := []string{"--name", "v", "--attach-listen", "127.64.0.2:2377", "--public-address", "127.64.0.2", "--debug"}
	if !slices.Equal(got, want) {
		t.Errorf("minimal args %q, want %q", got, want)
	}

	// The networks of the configuration.
	cfg.BridgeNetwork, cfg.BridgeNetworkRange = "VCH Bridge", "172.20.0.0/14"
	cfg.ContainerNetworks = []vchwire.ContainerNetwork{{PortGroup: "VM Network", Alias: "public"}}
	got = PluginArgs(cfg, recs[0], "127.64.0.2:2377")
	want = []string{"--name", "v", "--attach-listen", "127.64.0.2:2377", "--bridge-network", "VCH Bridge",
		"--bridge-network-range", "172.20.0.0/14", "--container-network", "VM Network:public", "--public-address",
		"127.64.0.2", "--debug"}
	if !slices.Equal(got, want) {
		t.Errorf("network args %q, want %q", got, want)
	}

	// The volume stores reach the plugin by label, in order.
	cfg = &vchwire.ApplianceConfig{Name: "v", Target: "https://h/sdk", Debug: true, Plugins: recs[:1]}
	cfg.VolumeStores = map[string]string{"fast": "ds://ssd/vols", "default": "ds://datastore1/volumes/v"}
	got = PluginArgs(cfg, recs[0], "127.64.0.2:2377")
	want = []string{"--name", "v", "--volume-store", "ds://datastore1/volumes/v:default", "--volume-store", "ds://ssd/vols:fast",
		"--attach-listen", "127.64.0.2:2377", "--public-address", "127.64.0.2", "--debug"}
	if !slices.Equal(got, want) {
		t.Errorf("args with volume stores %q, want %q", got, want)
	}
}

func TestEngineArgs(t *testing.T) {
	_, recs := testRoot(t)
	cfg := testConfig(t, nil, recs)
	state := "/run/vice"
	common := []string{"-H", "tcp://10.1.2.3:2376", "-H", "unix:///run/vice/docker.sock", "--plugins-dir", "/run/vice/plugins",
		"--backend", "vsphere", "--insecure-registry", "reg.local:5000", "--insecure-registry", "10.0.0.0/8"}
	if len(cfg.DNS) > 0 {
		t.Fatalf("testConfig has DNS %v; the expected arguments leave it out", cfg.DNS)
	}
	certs := []string{"--tlscert", "/run/vice/server-cert.pem", "--tlskey", "/run/vice/server-key.pem"}
	for mode, want := range map[string][]string{
		vchwire.TLSVerify: append(append(slices.Clone(common), "--tlsverify", "--tlscacert", "/run/vice/ca.pem"), certs...),
		vchwire.TLSServer: append(append(slices.Clone(common), "--tls"), certs...),
		vchwire.TLSOff:    slices.Clone(common),
	} {
		cfg.TLS = mode
		if got := EngineArgs(cfg, "tcp://10.1.2.3:2376", state); !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", mode, got, want)
		}
	}
	cfg.TLS = vchwire.TLSOff
	cfg.DNS = []string{"10.0.0.2", "10.0.0.3"}
	if got, want := EngineArgs(cfg, "tcp://10.1.2.3:2376", state), append(slices.Clone(common), "--dns", "10.0.0.2", "--dns", "10.0.0.3"); !slices.Equal(got, want) {
		t.Errorf("with DNS servers:\n got %q\nwant %q", got, want)
	}
	cfg.DNS = nil
	cfg.RegistryMirrors, cfg.WhitelistRegistries = []string{"http://127.0.0.1:5000"}, []string{"10.0.0.0/8", "*.example.com"}
	cfg.RegistryCAs = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"
	if got, want := EngineArgs(cfg, "tcp://10.1.2.3:2376", state), append(slices.Clone(common), "--registry-mirror", "http://127.0.0.1:5000",
		"--whitelist-registry", "10.0.0.0/8", "--whitelist-registry", "*.example.com", "--registry-ca", "/run/vice/registry-ca.pem"); !slices.Equal(got, want) {
		t.Errorf("with registry settings:\n got %q\nwant %q", got, want)
	}
	dir := t.TempDir()
	if err := writeRegistryCAs(cfg, dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, RegistryCAFile)); err != nil || string(b) != cfg.RegistryCAs {
		t.Errorf("registry CA file: %q %v", b, err)
	}
	cfg.RegistryCAs = ""
	if err := writeRegistryCAs(cfg, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, RegistryCAFile)); !os.IsNotExist(err) {
		t.Errorf("the registry CA file outlived its certificates: %v", err)
	}
	// One plugin and no backend named: that one, and --debug.
	cfg = &vchwire.ApplianceConfig{TLS: vchwire.TLSOff, Debug: true, Plugins: recs[:1]}
	got := EngineArgs(cfg, "tcp://10.1.2.3:2375", state)
	if !slices.Contains(got, "--debug") || got[slices.Index(got, "--backend")+1] != "vcsim" {
		t.Errorf("args %q", got)
	}
	ep := endpoints{ip: "10.1.2.3", dockerPort: 2375, adminPort: 2378}
	if ep.DockerHost() != "tcp://10.1.2.3:2375" || ep.AdminPortal() != "https://10.1.2.3:2378" {
		t.Errorf("endpoints %s %s", ep.DockerHost(), ep.AdminPortal())
	}
}

func TestParseConfig(t *testing.T) {
	root, recs := testRoot(t)
	good := testConfig(t, nil, recs)
	enc := func(c *vchwire.ApplianceConfig) string {
		b, _ := json.Marshal(c)
		return string(b)
	}
	if _, err := parseConfig(enc(good), root); err != nil {
		t.Fatal(err)
	}
	if err := verifyPlugins(good, root); err != nil {
		t.Fatal(err)
	}
	if _, err := parseConfig("", root); err != errNoConfig {
		t.Errorf("empty: %v", err)
	}
	for name, change := range map[string]func(c *vchwire.ApplianceConfig){
		"no name":        func(c *vchwire.ApplianceConfig) { c.Name = "" },
		"no target":      func(c *vchwire.ApplianceConfig) { c.Target = "" },
		"tls":            func(c *vchwire.ApplianceConfig) { c.TLS = "maybe" },
		"no plugins":     func(c *vchwire.ApplianceConfig) { c.Plugins = nil },
		"bad name":       func(c *vchwire.ApplianceConfig) { c.Plugins[0].Name = "Bad Name" },
		"twice":          func(c *vchwire.ApplianceConfig) { c.Plugins[1].Name = c.Plugins[0].Name },
		"missing file":   func(c *vchwire.ApplianceConfig) { c.Plugins[0].File = "/plugins/none" },
		"escaping file":  func(c *vchwire.ApplianceConfig) { c.Plugins[0].File = "../../etc/passwd" },
		"directory":      func(c *vchwire.ApplianceConfig) { c.Plugins[0].File = "/plugins" },
		"bad sum":        func(c *vchwire.ApplianceConfig) { c.Plugins[0].SHA256 = "xyz" },
		"unknown engine": func(c *vchwire.ApplianceConfig) { c.Backend = "qemu" },
		"no backend":     func(c *vchwire.ApplianceConfig) { c.Backend = "" },
	} {
		c := *good
		c.Plugins = slices.Clone(good.Plugins)
		change(&c)
		if _, err := parseConfig(enc(&c), root); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseConfig("{", root); err == nil {
		t.Error("bad JSON accepted")
	}
	bad := *good
	bad.Plugins = slices.Clone(good.Plugins)
	if err := verifyPlugins(&bad, root); err != nil {
		t.Errorf("the recorded checksums: %v", err)
	}
	for i := range bad.Plugins { // every registered plugin is checked, the backend or not
		bad.Plugins = slices.Clone(good.Plugins)
		bad.Plugins[i].SHA256 = strings.Repeat("0", 64)
		if err := verifyPlugins(&bad, root); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("checksum mismatch of %s: %v", bad.Plugins[i].Name, err)
		}
	}
}
