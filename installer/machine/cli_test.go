package machine

import (
	"net/url"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out := &syncBuffer{}
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

	s := startSim(t)
	u := s.url()
	noPass := &url.URL{Scheme: u.Scheme, Host: u.Host, User: url.User("user"), Path: "/DC0"}
	if code, out := runCLI(t, "ls", "--target", noPass.String(), "--thumbprint", s.thumbprint); code != 1 || !strings.Contains(out, "no password for user") {
		t.Errorf("no password and no terminal: %d %q", code, out)
	}
	if code, out := runCLI(t, "ls", "--target", noPass.String(), "--password", "wrong", "--thumbprint", s.thumbprint); code != 1 ||
		!strings.Contains(out, "ERROR cannot log in to") || !strings.Contains(out, `as "user": incorrect user name or password`) {
		t.Errorf("wrong password: %d %q", code, out)
	}

	// The whole life of a VCH through the command line, the target from the environment.
	t.Setenv(TargetEnv, s.target())
	o := s.createOptions(t, "cli-vch", "v1.0.0")
	a := s.startAppliance(t, "cli-vch")
	code, out := runCLI(t, "create", "--thumbprint", strings.ToLower(s.thumbprint), "--name", "cli-vch",
		"--image-store", "datastore1", "--volume-store", "datastore1/volumes/cli:default", "--bridge-network", "VCH Bridge",
		"--container-network", "VM Network:ext", "--dns-server", "10.0.0.1", "--dns-server", "10.0.0.2",
		"--memory", "8192", "--cpu", "4000", "--use-rp",
		"--appliance-iso", o.ApplianceISO, "--bootstrap-iso", o.BootstrapISO, "--tls-cert-path", o.CertPath,
		"--backend", "vcsim", "--timeout", "30s")
	if code != 0 || !strings.Contains(out, "Installer completed successfully") || !strings.Contains(out, "DOCKER_HOST="+a.IP+":2376") {
		t.Fatalf("create: %d\n%s", code, out)
	}
	if !strings.Contains(out, `Creating resource pool "cli-vch"`) {
		t.Errorf("--use-rp made no resource pool:\n%s", out)
	}
	common := []string{"--thumbprint", s.thumbprint, "--name", "cli-vch"}
	code, out = runCLI(t, append([]string{"inspect", "config"}, common...)...)
	if code != 0 {
		t.Fatalf("inspect config: %d\n%s", code, out)
	}
	for _, want := range []string{"--memory 8192", "--cpu 4000", "--use-rp", "--dns-server 10.0.0.1", "--dns-server 10.0.0.2",
		"--container-network 'VM Network:ext'", "--volume-store datastore1/volumes/cli:default"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect config lacks %q:\n%s", want, out)
		}
	}
	if code, out = runCLI(t, append([]string{"ls"}, common...)...); code != 0 || !strings.Contains(out, "cli-vch") {
		t.Errorf("ls: %d\n%s", code, out)
	}
	s.containerVM(t, "cli-vch", "c1")
	if code, out = runCLI(t, append([]string{"delete"}, common...)...); code != 1 || !strings.Contains(out, "Delete failed: 1 containers are running; use --force") {
		t.Errorf("delete without --force: %d\n%s", code, out)
	}
	if code, out = runCLI(t, append([]string{"delete", "--force"}, common...)...); code != 0 || !strings.Contains(out, "Completed successfully") {
		t.Errorf("delete --force: %d\n%s", code, out)
	}
	if vms, pools := s.vmNames(t), s.poolNames(t); len(vms) != 0 || len(pools) != 0 {
		t.Errorf("left after delete: %v %v", vms, pools)
	}
}
