package simulatortests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/installer/iso"
	"github.com/vice-engine/vice/installer/vchwire"
)

// TestQEMUAppliance boots appliance.iso under QEMU with a vmxnet3 NIC on QEMU's user network: its initramfs
// configures the NIC by DHCP, vice-appliance reads its config from fw_cfg and reports its status on the
// guestinfo port, its vsphere plugin reaches the simulator on this host through the user network's gateway,
// and `docker version` answers through a forwarded port.
func TestQEMUAppliance(t *testing.T) {
	_, applianceISO := bootISOs(t)
	bin := buildBinaries(t)

	// The simulated vSphere the appliance's backend works against, on this host.
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "vcsim.url")
	vcsimPort := freePort(t)
	vcsim := exec.Command(filepath.Join(bin, "vice-vcsim"), "--listen", fmt.Sprintf("127.0.0.1:%d", vcsimPort),
		"--datastore-dir", filepath.Join(dir, "datastore"), "--url-file", urlFile, "--no-emulator")
	vcsimOut := &syncBuffer{}
	vcsim.Stdout, vcsim.Stderr = vcsimOut, vcsimOut
	if err := vcsim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(vcsim) })
	var target *url.URL
	waitFor(t, 20*time.Second, "vice-vcsim's URL", func() bool {
		b, err := os.ReadFile(urlFile)
		if err != nil || len(strings.TrimSpace(string(b))) == 0 {
			return false
		}
		target, err = url.Parse(strings.TrimSpace(string(b)))
		return err == nil
	})
	thumbprint := ""
	waitFor(t, 10*time.Second, "vice-vcsim's thumbprint", func() bool {
		for _, line := range strings.Split(vcsimOut.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "VCSIM_THUMBPRINT="); ok {
				thumbprint = strings.TrimSpace(v)
			}
		}
		return thumbprint != ""
	})
	// In QEMU's user network the host is 10.0.2.2.
	target.Host = fmt.Sprintf("10.0.2.2:%d", vcsimPort)

	info, err := iso.ReadAppliance(applianceISO)
	if err != nil {
		t.Fatal(err)
	}
	// As vice-machine does: a key for the VM, the target's password sealed to it. The key travels in fw_cfg,
	// the channel only the guest reads, as the backdoor's guestinfo.ovfEnv does on ESXi.
	key, err := vchwire.NewSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	sealedTarget, password, err := vchwire.SealTarget(key.PublicKey(), target)
	if err != nil {
		t.Fatal(err)
	}
	cfg := vchwire.ApplianceConfig{Name: "vch-qemu", Version: info.Version, Target: sealedTarget, TargetPassword: password,
		Thumbprint: thumbprint, ImageStore: "datastore1", TLS: vchwire.TLSOff, Backend: "vsphere"}
	for _, p := range info.Plugins { // the production backend, against the simulator as it would be vCenter
		if rec := p.Record(); rec.Name == cfg.Backend {
			cfg.Plugins = append(cfg.Plugins, rec)
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := newGuestInfoHost(t)
	dockerPort := freePort(t)
	console := filepath.Join(dir, "appliance.log")
	vm := startQEMU(t, applianceISO, map[string]string{vchwire.KeyAppliance: string(raw), vchwire.KeySecretKey: key.String(),
		vchwire.KeyPublicKey: key.PublicKey().String()}, host,
		"-netdev", fmt.Sprintf("user,id=public,hostfwd=tcp:127.0.0.1:%d-:%d", dockerPort, vchwire.PortDockerPlain),
		"-device", "vmxnet3,netdev=public", "-serial", "file:"+console)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(console)
			t.Logf("appliance console:\n%s", b)
		}
	})

	start := time.Now()
	statusRaw := host.waitKey(t, vm, 5*time.Minute, vchwire.KeyApplianceStatus, func(v string) bool {
		var st vchwire.ApplianceStatus
		return json.Unmarshal([]byte(v), &st) == nil && (st.State == vchwire.ApplianceRunning || st.State == vchwire.ApplianceFailed)
	})
	var st vchwire.ApplianceStatus
	_ = json.Unmarshal([]byte(statusRaw), &st)
	if st.State != vchwire.ApplianceRunning {
		t.Fatalf("the appliance failed: %s", statusRaw)
	}
	t.Logf("appliance running after %v: ip %s, docker host %s", time.Since(start).Round(time.Second), st.IP, st.DockerHost)
	if st.IP != "10.0.2.15" {
		t.Errorf("the appliance reports %s, not the address QEMU's DHCP server gives (10.0.2.15)", st.IP)
	}

	// The appliance opened the password (its vsphere plugin logged in: docker version answers below) and
	// wrote nothing of it back.
	pass, _ := target.User.Password()
	host.mu.Lock()
	for k, v := range host.keys {
		if strings.Contains(v, pass) {
			t.Errorf("the guest wrote the password to %s", k)
		}
	}
	host.mu.Unlock()

	out, err := exec.Command("docker", "-H", fmt.Sprintf("tcp://127.0.0.1:%d", dockerPort), "version").CombinedOutput()
	t.Logf("docker version through the forwarded port:\n%s", out)
	if err != nil {
		t.Fatalf("docker version: %v", err)
	}
	if !strings.Contains(string(out), "Server:") || !strings.Contains(string(out), info.Version) {
		t.Errorf("docker version shows no server of version %s", info.Version)
	}
}
