package simulatortests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// installerEnv is a fresh vice-vcsim (with its hypervisor emulator) as the target of vice-machine, two
// builds of appliance.iso ("e2e-old" and "e2e-new", which differ in vice-engine's version) and a seeded
// registry. vice-machine runs in work, where it writes each VCH's certificate folder.
type installerEnv struct {
	bin        string
	work       string
	vcsimURL   *url.URL
	thumbprint string
	dsDir      string
	reg        *fixtures.Registry
	oldISO     string
	newISO     string
	bootISO    string
	// runDir is the emulator's: the guests of this environment run their tether from below it.
	runDir string
	// vcsim is the simulator's process, which a test may stop before its cleanup does.
	vcsim *exec.Cmd
}

var (
	applianceOnce sync.Once
	applianceDir  string
	applianceErr  error
)

// applianceISOs builds vice-machine and the two appliance.iso builds once per test run.
func applianceISOs(t *testing.T) string {
	t.Helper()
	bin := buildBinaries(t)
	applianceOnce.Do(func() {
		dir := filepath.Join(bin, "appliance")
		step := func(env []string, name string, args ...string) bool {
			cmd := exec.Command(name, args...)
			cmd.Env = append(os.Environ(), env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				applianceErr = fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
				return false
			}
			return true
		}
		static := []string{"CGO_ENABLED=0"}
		ok := step(nil, "go", "build", "-o", bin+"/", "../installer/cmd/vice-machine") &&
			step(static, "go", "build", "-ldflags", "-s -w", "-o", dir+"/",
				"../installer/cmd/vice-appliance", "../plugins/vcsim/cmd/vice-plugin-vcsim") &&
			step(static, "go", "build", "-ldflags", "-s -w -X main.version=e2e-old", "-o", dir+"/old/vice-engine", "../core/cmd/vice-engine") &&
			step(static, "go", "build", "-ldflags", "-s -w -X main.version=e2e-new", "-o", dir+"/new/vice-engine", "../core/cmd/vice-engine")
		for _, v := range []string{"old", "new"} {
			ok = ok && step(nil, "go", "run", "../installer/cmd/vice-iso", "-appliance",
				"-init", dir+"/vice-appliance", "-engine", dir+"/"+v+"/vice-engine",
				"-plugin", dir+"/vice-plugin-vcsim", "-o", dir+"/"+v+"/appliance.iso", "-version", "e2e-"+v)
		}
		if ok {
			applianceDir = dir
		}
	})
	if applianceErr != nil {
		t.Fatal(applianceErr)
	}
	return applianceDir
}

func startInstallerEnv(t *testing.T) *installerEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the endpoint and containerVMs boot under the hypervisor emulator, which needs root")
	}
	if _, err := os.Stat(fixtures.BusyboxPath); err != nil {
		t.Skipf("the busybox fixture needs %s: %v", fixtures.BusyboxPath, err)
	}
	e := &installerEnv{bin: buildBinaries(t), work: t.TempDir(), bootISO: bootstrapISO(t)}
	isos := applianceISOs(t)
	e.oldISO, e.newISO = filepath.Join(isos, "old", "appliance.iso"), filepath.Join(isos, "new", "appliance.iso")

	reg, err := fixtures.StartRegistry("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := reg.Seed(ctx, false); err != nil {
		t.Fatal(err)
	}
	e.reg = reg

	dir := t.TempDir()
	e.dsDir = filepath.Join(dir, "datastore")
	urlFile := filepath.Join(dir, "vcsim.url")
	out := &syncBuffer{}
	v := &vch{bin: e.bin, dir: dir}
	e.runDir = filepath.Join(dir, "guests")
	e.vcsim = v.start(t, "vice-vcsim", out, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--datastore-dir", e.dsDir, "--url-file", urlFile, "--run-dir", e.runDir, "--password", installerPassword)
	waitFor(t, 20*time.Second, "vice-vcsim's URL and thumbprint", func() bool {
		m := regexp.MustCompile(`VCSIM_THUMBPRINT=(\S+)`).FindStringSubmatch(out.String())
		b, err := os.ReadFile(urlFile)
		if err != nil || m == nil {
			return false
		}
		e.thumbprint = m[1]
		e.vcsimURL, err = url.Parse(strings.TrimSpace(string(b)))
		return err == nil
	})
	return e
}

// guests lists the PID-1 processes of this environment's guests, the tethers the emulator runs from its run
// dir: other tests on the machine have guests of their own.
func (e *installerEnv) guests() []int {
	return tetherPIDs(e.runDir)
}

// target is --target without credentials: host:port; the credentials go in --user and --password.
func (e *installerEnv) target() string { return e.vcsimURL.Host }

func (e *installerEnv) password() string { p, _ := e.vcsimURL.User.Password(); return p }

// machine runs vice-machine with the target's flags first; it returns the combined output and exit code.
func (e *installerEnv) machine(t *testing.T, verb []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	all := append(slices.Clone(verb), "--target", e.target(), "--user", e.vcsimURL.User.Username())
	all = append(all, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "vice-machine"), all...)
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "VICE_MACHINE_TARGET=")
	if !slices.Contains(args, "--password") {
		cmd.Args = append(cmd.Args, "--password", e.password())
	}
	if !slices.Contains(args, "--thumbprint") {
		cmd.Args = append(cmd.Args, "--thumbprint", e.thumbprint)
	}
	b, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !asExit(err, &exit) {
			t.Fatalf("vice-machine %s: %v\n%s", strings.Join(verb, " "), err, b)
		}
		code = exit.ExitCode()
	}
	return string(b), code
}

func (e *installerEnv) machineOK(t *testing.T, verb []string, args ...string) string {
	t.Helper()
	out, code := e.machine(t, verb, args...)
	if code != 0 {
		t.Fatalf("vice-machine %s: exit %d\n%s", strings.Join(verb, " "), code, out)
	}
	return out
}

// deployed is a VCH made by vice-machine create, with its Docker endpoint and certificates.
type deployed struct {
	name, host, certs string
	env               []string
}

func (e *installerEnv) create(t *testing.T, name, applianceISO string, extra ...string) *deployed {
	t.Helper()
	args := append([]string{"--name", name, "--backend", "vcsim", "--appliance-iso", applianceISO,
		"--bootstrap-iso", e.bootISO, "--image-store", "datastore1", "--bridge-network", "VCH Bridge",
		"--public-network", "VM Network", "--compute-resource", "DC0_C0"}, extra...)
	out := e.machineOK(t, []string{"create"}, args...)
	m := regexp.MustCompile(`DOCKER_HOST=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed no DOCKER_HOST:\n%s", out)
	}
	d := &deployed{name: name, host: "tcp://" + strings.TrimPrefix(m[1], "tcp://"), certs: filepath.Join(e.work, name)}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if _, err := os.Stat(filepath.Join(d.certs, f)); err != nil {
			t.Fatalf("create wrote no %s: %v\n%s", f, err, out)
		}
	}
	d.env = []string{"DOCKER_CONFIG=" + t.TempDir()}
	t.Logf("create %s:\n%s", name, out)
	return d
}

// docker runs the real CLI against the VCH with its client certificate.
func (d *deployed) docker(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliWait)
	defer cancel()
	all := append([]string{"-H", d.host, "--tlsverify", "--tlscacert", filepath.Join(d.certs, "ca.pem"),
		"--tlscert", filepath.Join(d.certs, "cert.pem"), "--tlskey", filepath.Join(d.certs, "key.pem")}, args...)
	cmd := exec.CommandContext(ctx, "docker", all...)
	cmd.Env = append(os.Environ(), d.env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if !asExit(err, &exit) {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b), exit.ExitCode()
	}
	return string(b), 0
}

func (d *deployed) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, code := d.docker(t, args...)
	if code != 0 {
		t.Fatalf("docker %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// inventory is what the simulator holds: VM names, pool names and the datastore's top-level entries.
type inventory struct {
	vms, pools, files []string
}

func (e *installerEnv) inventory(t *testing.T) inventory {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := govmomi.NewClient(ctx, e.vcsimURL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(context.Background())
	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	var inv inventory
	vms, _ := f.VirtualMachineList(ctx, "*")
	for _, vm := range vms {
		inv.vms = append(inv.vms, vm.Name())
	}
	pools, _ := f.ResourcePoolListAll(ctx, "*/Resources/*")
	for _, p := range pools {
		inv.pools = append(inv.pools, p.Name())
	}
	entries, _ := os.ReadDir(e.dsDir)
	for _, en := range entries {
		inv.files = append(inv.files, en.Name())
	}
	vic, _ := os.ReadDir(filepath.Join(e.dsDir, "VIC"))
	for _, en := range vic {
		inv.files = append(inv.files, "VIC/"+en.Name())
	}
	slices.Sort(inv.vms)
	slices.Sort(inv.pools)
	slices.Sort(inv.files)
	return inv
}

func (e *installerEnv) addCluster(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, e.vcsimURL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	f := find.NewFinder(c.Client, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := folders.HostFolder.CreateCluster(ctx, name, types.ClusterConfigSpecEx{}); err != nil {
		t.Fatal(err)
	}
}

// handshakeRefused dials the endpoint's TLS port trusting its CA but with no client certificate: the
// server must end the handshake (TLS 1.3 reports it on the first read).
func handshakeRefused(t *testing.T, d *deployed) error {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(d.certs, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509Pool(t, ca)
	addr := strings.TrimPrefix(d.host, "tcp://")
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	_, err = conn.Read(buf)
	return err
}

func x509Pool(t *testing.T, pemData []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemData) {
		t.Fatal("no certificate in ca.pem")
	}
	return p
}
