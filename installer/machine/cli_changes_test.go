package machine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/vch/vchtest"
)

// upgrade, rollback, configure and debug through the command line print what the library did and how to
// reach the VCH afterwards.
func TestCLIChanges(t *testing.T) {
	s := vchtest.StartVC(t)
	t.Setenv(TargetEnv, s.Target())
	app, boot := vchtest.ISOs(t, "v1.0.0")
	certDir := filepath.Join(t.TempDir(), "vch1")
	a := s.StartAppliance(t, "vch1")
	common := []string{"--thumbprint", s.Thumbprint, "--name", "vch1", "--timeout", "30s"}
	run := func(want []string, args ...string) {
		t.Helper()
		code, out := runCLI(t, append(args, common...)...)
		if code != 0 {
			t.Fatalf("%s: %d\n%s", strings.Join(args, " "), code, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", strings.Join(args, " "), w, out)
			}
		}
	}
	run([]string{"Installer completed successfully"}, "create", "--image-store", "datastore1", "--bridge-network", "VCH Bridge",
		"--appliance-iso", app, "--bootstrap-iso", boot, "--tls-cert-path", certDir, "--backend", "vcsim")

	run([]string{"### Upgrading VCH ####", `VCH "vch1" is already up to date (version v1.0.0)`},
		"upgrade", "--appliance-iso", app, "--bootstrap-iso", boot, "--tls-cert-path", certDir)
	app2, boot2 := vchtest.ISOs(t, "v2.0.0")
	run([]string{"### Upgrading VCH ####", `Upgrade of VCH "vch1" to version v2.0.0 succeeded`, "VCH ID: vm-",
		"VCH version: v2.0.0 (previous: v1.0.0, restore it with --rollback)", "DOCKER_HOST=" + a.IP + ":2376", "Completed successfully"},
		"upgrade", "--appliance-iso", app2, "--bootstrap-iso", boot2, "--tls-cert-path", certDir)
	run([]string{"### Rolling back VCH ####", `Rollback of VCH "vch1" to version v1.0.0 succeeded`, "DOCKER_HOST=" + a.IP + ":2376",
		"Completed successfully"}, "upgrade", "--rollback", "--tls-cert-path", certDir)

	run([]string{"### Configuring VCH ####", `Updating the limits of virtual app`, "  CPU 2000 MHz, memory unlimited", "Completed successfully"},
		"configure", "--cpu", "2000")
	run([]string{`VCH "vch1" reconfigured`, "DOCKER_HOST=" + a.IP + ":2376", "Completed successfully"},
		"configure", "--dns-server", "10.0.0.9", "--tls-cert-path", certDir)

	key := filepath.Join(t.TempDir(), "id.pub")
	if err := os.WriteFile(key, []byte("# mine\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run([]string{"### Configuring VCH for debug ####", "SSH to appliance enabled for 1 key(s)", "ssh root@" + a.IP, "Completed successfully"},
		"debug", "--enable-ssh", "--authorized-key", key)
	run([]string{"SSH to appliance disabled", "Completed successfully"}, "debug", "--disable-ssh")
	bad := filepath.Join(t.TempDir(), "bad.pub")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runCLI(t, append([]string{"debug", "--enable-ssh", "--authorized-key", bad}, common...)...); code != 1 ||
		!strings.Contains(out, "is not a public key line") {
		t.Errorf("debug with a bad key file: %d\n%s", code, out)
	}
}
