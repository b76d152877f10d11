package simulatortests

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// TestInstaller deploys VCHs with vice-machine on a fresh simulator, the way an administrator would, and
// uses them with the real docker CLI: validation that refuses bad targets before anything is made, TLS with
// client certificates, two VCHs side by side, upgrade and rollback under running containers, and delete.
func TestInstaller(t *testing.T) {
	e := startInstallerEnv(t)
	empty := e.inventory(t)

	t.Run("ValidationFailsBeforeAnythingIsMade", func(t *testing.T) {
		e.addCluster(t, "second-cluster")
		cases := []struct {
			name string
			args []string
			want []string // all of them, in the output
		}{
			{"wrong password", []string{"--password", "wrong"}, []string{"incorrect", "password"}},
			{"wrong thumbprint", []string{"--thumbprint", strings.Repeat("AB:", 31) + "AB"}, []string{e.thumbprint}},
			{"missing datastore", []string{"--image-store", "nope"}, []string{"datastore1"}},
			{"missing network", []string{"--public-network", "nope"}, []string{"VM Network"}},
			{"ambiguous compute resource", nil, []string{"--compute-resource", "second-cluster", "DC0_C0"}},
		}
		for _, c := range cases {
			args := append([]string{"--name", "bad", "--backend", "vcsim", "--appliance-iso", e.newISO,
				"--bootstrap-iso", e.bootISO, "--bridge-network", "VCH Bridge", "--public-network", "VM Network"}, c.args...)
			if c.name != "ambiguous compute resource" {
				args = append(args, "--compute-resource", "DC0_C0")
			}
			out, code := e.machine(t, []string{"create"}, args...)
			if code == 0 {
				t.Errorf("%s: create succeeded:\n%s", c.name, out)
				continue
			}
			t.Logf("%s:\n%s", c.name, out)
			for _, w := range c.want {
				if !strings.Contains(strings.ToLower(out), strings.ToLower(w)) {
					t.Errorf("%s: output does not say %q:\n%s", c.name, w, out)
				}
			}
			if inv := e.inventory(t); !slices.Equal(inv.vms, empty.vms) || !slices.Equal(inv.pools, empty.pools) || !slices.Equal(inv.files, empty.files) {
				t.Errorf("%s: the failed create left something: %+v, before %+v", c.name, inv, empty)
			}
		}
		// The simulator cannot destroy a cluster: the second one stays, and every create names its own.
	})
	if t.Failed() {
		return
	}

	vch1 := e.create(t, "vch1", e.oldISO, "--volume-store", "datastore1/volumes/vch1:default")
	bb := e.reg.Addr + "/busybox"

	t.Run("TLS", func(t *testing.T) {
		if out := vch1.ok(t, "run", "--rm", bb, "echo", "hi"); !strings.Contains(out, "hi") {
			t.Fatalf("docker run --rm busybox echo hi:\n%s", out)
		}
		if err := handshakeRefused(t, vch1); err == nil {
			t.Fatal("a client without a certificate was served")
		} else {
			t.Logf("without a client certificate: %v", err)
		}
	})

	// Secrets kept secret: what a vSphere user with read access reads of the VCH holds no password and no
	// private key in clear.
	t.Run("SecretsKeptSecret", func(t *testing.T) { e.checkNoSecrets(t, vch1) })
	t.Run("AdminPortalAsksForCredentials", func(t *testing.T) { e.checkPortal(t, vch1) })

	// vch2 pulls Docker Hub names through a mirror, which holds them under their full path.
	hub, err := fixtures.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Push(context.Background(), "library/busybox:latest", hub); err != nil {
		t.Fatal(err)
	}
	vch2 := e.create(t, "vch2", e.newISO, "--dns-server", "192.0.2.53", "--registry-mirror", "http://"+e.reg.Addr)

	t.Run("RegistryMirror", func(t *testing.T) {
		if out := vch2.ok(t, "pull", "busybox"); !strings.Contains(out, "Status: Downloaded newer image for busybox:latest") {
			t.Errorf("docker pull busybox through the mirror:\n%s", out)
		}
		if info := vch2.ok(t, "info"); !strings.Contains(info, "Registry Mirrors:\n  http://"+e.reg.Addr+"/") {
			t.Errorf("docker info does not show the mirror:\n%s", info)
		}
		vch2.ok(t, "rmi", "busybox")
	})

	loop := "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"
	t.Run("SeparateVCHs", func(t *testing.T) {
		vch1.ok(t, "run", "-d", "--name", "one-a", bb, "sh", "-c", loop)
		vch1.ok(t, "run", "-d", "--name", "one-b", bb, "sh", "-c", loop)
		vch2.ok(t, "run", "-d", "--name", "two-a", bb, "sleep", "600")
		// A container's name server is the VCH's DNS on its bridge network's gateway, which answers the
		// containers' names and forwards the rest to the VCH's --dns-server (not asked here: it is off this
		// machine).
		gw := strings.TrimSpace(vch2.ok(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge"))
		if out := vch2.ok(t, "run", "--rm", bb, "cat", "/etc/resolv.conf"); !strings.Contains(out, "nameserver "+gw) {
			t.Errorf("resolv.conf of a container of vch2, want the VCH's DNS on %s:\n%s", gw, out)
		}
		ps1 := vch1.ok(t, "ps", "--format", "{{.Names}}")
		ps2 := vch2.ok(t, "ps", "--format", "{{.Names}}")
		if strings.Fields(ps1) == nil || strings.Contains(ps1, "two-a") || !strings.Contains(ps1, "one-a") || !strings.Contains(ps1, "one-b") {
			t.Errorf("vch1 ps: %q", ps1)
		}
		if strings.TrimSpace(ps2) != "two-a" {
			t.Errorf("vch2 ps: %q", ps2)
		}
		ls := e.machineOK(t, []string{"ls"}, "--appliance-iso", e.newISO)
		t.Logf("ls:\n%s", ls)
		if !regexp.MustCompile(`vch1\s+e2e-old\s+Upgradeable to e2e-new`).MatchString(ls) ||
			!regexp.MustCompile(`vch2\s+e2e-new\s+Up to date`).MatchString(ls) {
			t.Errorf("ls does not show the versions and upgrade status:\n%s", ls)
		}
		for _, w := range []string{"vch1", "vch2", "e2e-old", "e2e-new", "/Resources/vch1", "/Resources/vch2", "vm-"} {
			if !strings.Contains(ls, w) {
				t.Errorf("ls does not show %q:\n%s", w, ls)
			}
		}
		for _, d := range []*deployed{vch1, vch2} {
			out := e.machineOK(t, []string{"inspect"}, "--name", d.name)
			t.Logf("inspect %s:\n%s", d.name, out)
			if !strings.Contains(out, strings.TrimPrefix(d.host, "tcp://")) {
				t.Errorf("inspect %s does not show its endpoint %s:\n%s", d.name, d.host, out)
			}
		}
	})

	t.Run("UpgradeKeepsContainersRunning", func(t *testing.T) {
		before := e.guests()
		if v := vch1.ok(t, "version", "--format", "{{.Server.Version}}"); strings.TrimSpace(v) != "e2e-old" {
			t.Fatalf("vch1 server version %q before the upgrade", v)
		}
		out := e.machineOK(t, []string{"upgrade"}, "--name", "vch1", "--appliance-iso", e.newISO, "--bootstrap-iso", e.bootISO)
		t.Logf("upgrade:\n%s", out)
		e.checkNoSecrets(t, vch1) // the configuration saved for the rollback among the files
		if v := vch1.ok(t, "version", "--format", "{{.Server.Version}}"); strings.TrimSpace(v) != "e2e-new" {
			t.Fatalf("vch1 server version %q after the upgrade", v)
		}
		if after := e.guests(); len(before) == 0 || !slices.Equal(before, after) {
			t.Errorf("containers' guests changed across the upgrade: %v -> %v", before, after)
		}
		attachDeployed(t, vch1, "one-a")
		out = e.machineOK(t, []string{"upgrade"}, "--name", "vch1", "--rollback")
		t.Logf("rollback:\n%s", out)
		if v := vch1.ok(t, "version", "--format", "{{.Server.Version}}"); strings.TrimSpace(v) != "e2e-old" {
			t.Fatalf("vch1 server version %q after the rollback", v)
		}
		attachDeployed(t, vch1, "one-b")
	})

	t.Run("Delete", func(t *testing.T) {
		out, code := e.machine(t, []string{"delete"}, "--name", "vch1")
		if code == 0 || !strings.Contains(out, "--force") {
			t.Fatalf("delete with running containers: exit %d\n%s", code, out)
		}
		t.Logf("delete with running containers: exit %d\n%s", code, out)
		out = e.machineOK(t, []string{"delete"}, "--name", "vch1", "--force")
		t.Logf("delete --force:\n%s", out)
		if !strings.Contains(out, "volumes/vch1") {
			t.Errorf("delete does not list the kept volume store:\n%s", out)
		}
		inv := e.inventory(t)
		for _, n := range inv.vms {
			if strings.HasPrefix(n, "vch1") || strings.HasPrefix(n, "one-") {
				t.Errorf("VM %s is left", n)
			}
		}
		if slices.Contains(inv.pools, "vch1") || slices.Contains(inv.files, "vch1") || slices.Contains(inv.files, "VIC/vch1") {
			t.Errorf("left after delete: %+v", inv)
		}
		if _, err := os.Stat(filepath.Join(e.dsDir, "volumes", "vch1")); err != nil {
			t.Errorf("the volume store was not kept: %v", err)
		}
		// The other VCH is untouched.
		if ps := vch2.ok(t, "ps", "--format", "{{.Names}}"); strings.TrimSpace(ps) != "two-a" {
			t.Errorf("vch2 after deleting vch1: %q", ps)
		}
		e.machineOK(t, []string{"delete"}, "--name", "vch2", "--force")
		waitFor(t, 30*time.Second, "every guest to end", func() bool { return len(e.guests()) == 0 })
		// Nothing is left but the volume store: the inventory is as it was before the first create.
		inv = e.inventory(t)
		if !slices.Equal(inv.vms, empty.vms) || !slices.Equal(inv.pools, empty.pools) ||
			!slices.Equal(inv.files, append(slices.Clone(empty.files), "volumes")) {
			t.Errorf("after deleting both VCHs: %+v, before the first create %+v", inv, empty)
		}
	})
}

// attachDeployed attaches to a looping container and waits for a fresh tick.
func attachDeployed(t *testing.T, d *deployed, name string) {
	t.Helper()
	g := &guestVCH{vch: &vch{host: d.host}, env: append(slices.Clone(d.env),
		"DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+d.certs)}
	attachSeesOutput(t, g, name)
}
