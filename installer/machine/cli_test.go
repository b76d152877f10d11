package machine

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vch/vchtest"
)

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out := &vchtest.Buffer{}
	code := Main(append([]string{"vice-machine"}, args...), nil, out, BuildInfo{Version: "v1.0.0", Commit: "abc123"})
	return code, out.String()
}

func TestCLI(t *testing.T) {
	if code, out := runCLI(t, "version"); code != 0 || strings.TrimSpace(out) != "vice-machine version v1.0.0 (commit abc123)" {
		t.Errorf("version: %d %q", code, out)
	}
	if code, out := runCLI(t, "nope"); code != 1 || !strings.Contains(out, `no command "nope"`) {
		t.Errorf("unknown command: %d %q", code, out)
	}
	if code, out := runCLI(t, "create", "--no-such-flag"); code != 1 || !strings.Contains(out, "flag provided but not defined") {
		t.Errorf("unknown flag: %d %q", code, out)
	}
	if code, out := runCLI(t, "ls"); code != 1 || !strings.Contains(out, "give --target") {
		t.Errorf("ls without a target: %d %q", code, out)
	}

	s := vchtest.StartVC(t)
	u := s.URL()
	noPass := &url.URL{Scheme: u.Scheme, Host: u.Host, User: url.User("user"), Path: "/DC0"}
	if code, out := runCLI(t, "ls", "--target", noPass.String(), "--thumbprint", s.Thumbprint); code != 1 || !strings.Contains(out, "no password for user") {
		t.Errorf("no password and no terminal: %d %q", code, out)
	}
	if code, out := runCLI(t, "ls", "--target", noPass.String(), "--password", "wrong", "--thumbprint", s.Thumbprint); code != 1 ||
		!strings.Contains(out, "ERROR cannot log in to") || !strings.Contains(out, `as "user": incorrect user name or password`) {
		t.Errorf("wrong password: %d %q", code, out)
	}

	// The whole life of a VCH through the command line, the target from the environment.
	t.Setenv(TargetEnv, s.Target())
	app, boot := vchtest.ISOs(t, "v1.0.0")
	certDir := filepath.Join(t.TempDir(), "cli-vch")
	a := s.StartAppliance(t, "cli-vch")
	ca, err := certs.NewCA("registry CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "registry-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runCLI(t, "create", "--thumbprint", strings.ToLower(s.Thumbprint), "--name", "cli-vch",
		"--registry-mirror", "http://127.0.0.1:5000", "--whitelist-registry", "10.0.0.0/8", "--whitelist-registry", "127.0.0.1:5000",
		"--rc", caFile,
		"--image-store", "datastore1", "--volume-store", "datastore1/volumes/cli:default", "--bridge-network", "VCH Bridge",
		"--container-network", "VM Network:ext", "--dns-server", "10.0.0.1", "--dns-server", "10.0.0.2",
		"--memory", "8192", "--cpu", "4000", "--use-rp", "--tls-cname", "vch.example.com",
		"--appliance-iso", app, "--bootstrap-iso", boot, "--tls-cert-path", certDir,
		"--backend", "vcsim", "--timeout", "30s")
	if code != 0 {
		t.Fatalf("create: %d\n%s", code, out)
	}
	for _, want := range []string{"### Installing VCH ####", `Creating resource pool "cli-vch"`, "Docker API endpoint check OK",
		"INFO  VCH ID: vm-", "Installer version: v1.0.0", "VCH version: v1.0.0", "VCH Admin Portal:", "https://" + a.IP + ":2378",
		"DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=" + certDir + " DOCKER_HOST=" + a.IP + ":2376",
		"Environment saved in " + filepath.Join(certDir, "cli-vch.env"), "docker -H " + a.IP + ":2376 --tlsverify",
		"Installer completed successfully"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	if env, err := os.ReadFile(filepath.Join(certDir, "cli-vch.env")); err != nil || !strings.Contains(string(env), "DOCKER_HOST="+a.IP+":2376\n") {
		t.Errorf("environment file: %q %v", env, err)
	}

	common := []string{"--thumbprint", s.Thumbprint, "--name", "cli-vch"}
	code, out = runCLI(t, append([]string{"inspect", "config"}, common...)...)
	if code != 0 {
		t.Fatalf("inspect config: %d\n%s", code, out)
	}
	for _, want := range []string{"Target VCH created with the following options:", "vice-machine create \\\n    --target ",
		"--memory 8192", "--cpu 4000", "--use-rp", "--dns-server 10.0.0.1", "--dns-server 10.0.0.2",
		"--bridge-network 'VCH Bridge'", "--container-network 'VM Network:ext'", "--volume-store datastore1/volumes/cli:default",
		"--registry-mirror http://127.0.0.1:5000", "--whitelist-registry 10.0.0.0/8", "--whitelist-registry 127.0.0.1:5000"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect config lacks %q:\n%s", want, out)
		}
	}

	newer, _ := vchtest.ISOs(t, "v1.1.0")
	code, out = runCLI(t, append([]string{"ls", "--appliance-iso", newer}, common...)...)
	if code != 0 {
		t.Fatalf("ls: %d\n%s", code, out)
	}
	for _, want := range []string{"ID", "PATH", "NAME", "VERSION", "UPGRADE STATUS", "/DC0/host/DC0_C0/Resources/cli-vch",
		"cli-vch", "v1.0.0", "Upgradeable to v1.1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls lacks %q:\n%s", want, out)
		}
	}

	code, out = runCLI(t, append([]string{"inspect", "--tls-cert-path", certDir, "--appliance-iso", app}, common...)...)
	if code != 0 {
		t.Fatalf("inspect: %d\n%s", code, out)
	}
	for _, want := range []string{"### Inspecting VCH ####", "VCH ID: vm-", "Installer version: v1.0.0", "VCH version: v1.0.0",
		"Installer has same version as VCH", "VCH power state: poweredOn", "Appliance state: running", "VCH Admin Portal:",
		"DOCKER_HOST=" + a.IP + ":2376", "docker -H " + a.IP + ":2376 --tlsverify", "Pool:", "(resource pool)",
		"Pool limits:           CPU 4000 MHz, memory 8192 MB", "Volume store:          default: ds://datastore1/volumes/cli",
		"Container network:     ext: VM Network", "DNS servers:           10.0.0.1, 10.0.0.2", "Backend:               vcsim",
		"Registry mirrors:      http://127.0.0.1:5000", "Whitelisted registries: 10.0.0.0/8, 127.0.0.1:5000",
		"Registry CAs:          1 certificates",
		"Completed successfully"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ":pass@") {
		t.Errorf("inspect shows the password:\n%s", out)
	}

	s.ContainerVM(t, "cli-vch", "c1")
	if code, out = runCLI(t, append([]string{"delete"}, common...)...); code != 1 || !strings.Contains(out, "Delete failed: 1 containers are running; use --force") {
		t.Errorf("delete without --force: %d\n%s", code, out)
	}
	code, out = runCLI(t, append([]string{"delete", "--force"}, common...)...)
	if code != 0 || !strings.Contains(out, "Volume stores kept: default (ds://datastore1/volumes/cli)") || !strings.Contains(out, "Completed successfully") {
		t.Errorf("delete --force: %d\n%s", code, out)
	}
	if vms, pools := s.VMNames(t), s.PoolNames(t); len(vms) != 0 || len(pools) != 0 {
		t.Errorf("left after delete: %v %v", vms, pools)
	}
}
