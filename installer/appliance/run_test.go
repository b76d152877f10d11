package appliance

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/installer/vchwire"
)

const runTimeout = 30 * time.Second

// freePort is a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// running is an appliance under test; stop ends it and checks that it returned.
type running struct {
	gi    *fakeGuestInfo
	o     Options
	done  chan error
	stop  func() error
	state string
}

func startAppliance(t *testing.T, gi *fakeGuestInfo, root string, change func(*Options)) *running {
	t.Helper()
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	state := t.TempDir()
	o := Options{
		GuestInfo: gi, Root: root, State: state,
		Address:    func(context.Context) (string, error) { return "127.0.0.1", nil },
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		DockerPort: freePort(t), AdminPort: freePort(t), SSHPort: freePort(t),
		ConfigPoll: 20 * time.Millisecond, TLSPoll: 20 * time.Millisecond, CertPoll: 50 * time.Millisecond,
		DebugPoll: 50 * time.Millisecond, StopTimeout: 5 * time.Second, PortalLogin: fakeVSphereLogin,
	}
	if change != nil {
		change(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{gi: gi, o: o, done: make(chan error, 1), state: state}
	go func() { r.done <- Run(ctx, o) }()
	var result error
	stopped := false
	r.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case result = <-r.done:
			case <-time.After(runTimeout):
				t.Error("Run did not return after its context ended")
			}
		}
		return result
	}
	t.Cleanup(func() { _ = r.stop() })
	return r
}

func (r *running) waitState(t *testing.T, state string) vchwire.ApplianceStatus {
	t.Helper()
	var st vchwire.ApplianceStatus
	waitFor(t, "state "+state, runTimeout, func() bool {
		st = r.gi.status()
		return st.State == state
	})
	return st
}

func service(st vchwire.ApplianceStatus, name string) vchwire.ServiceStatus {
	for _, s := range st.Services {
		if s.Name == name {
			return s
		}
	}
	return vchwire.ServiceStatus{}
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// The whole boot with TLS verify: the appliance reports its address, waits for the certificates, registers
// the plugins, runs vice-engine until it answers, serves the portal with client certificates, runs SSH
// when asked, restarts the engine for new certificates, and stops it all on the way out.
func TestRunVerify(t *testing.T) {
	root, recs := testRoot(t)
	gi := newFakeGuestInfo()
	cfg := testConfig(t, gi, recs[:1]) // the installer registers the backend's plugin alone
	cfg.Backend = "vcsim"
	gi.put(t, vchwire.KeyAppliance, cfg)
	r := startAppliance(t, gi, root, nil)

	st := r.waitState(t, vchwire.ApplianceWaitingTLS)
	dockerAddr := "127.0.0.1:" + strconv.Itoa(r.o.DockerPort)
	adminURL := "https://127.0.0.1:" + strconv.Itoa(r.o.AdminPort)
	if st.IP != "127.0.0.1" || st.DockerHost != "tcp://"+dockerAddr || st.AdminPortal != adminURL || st.Version != "v9.9.9" {
		t.Fatalf("status %+v", st)
	}
	pki := newPKI(t)
	gi.put(t, vchwire.KeyApplianceTLS, pki.wire(t, gi, true))
	st = r.waitState(t, vchwire.ApplianceRunning)
	eng := service(st, ServiceEngine)
	if eng.State != ServiceRunning || !alive(eng.Pid) {
		t.Fatalf("engine %+v", eng)
	}

	var args []string
	b, err := os.ReadFile(filepath.Join(r.state, "engine-args.json"))
	if err != nil || json.Unmarshal(b, &args) != nil {
		t.Fatalf("engine args: %v", err)
	}
	if want := EngineArgs(cfg, "tcp://"+dockerAddr, r.state); !slices.Equal(args, want) {
		t.Errorf("engine args\n got %q\nwant %q", args, want)
	}
	if m, _ := filepath.Glob(filepath.Join(r.state, PluginsDir, "*.json")); len(m) != 1 || filepath.Base(m[0]) != "vcsim.json" {
		t.Errorf("manifests %v", m)
	}
	// The plugin gets the target with the password opened; nothing the appliance wrote to guestinfo has it.
	ms, err := pluginhost.ReadManifests(filepath.Join(r.state, PluginsDir))
	if err != nil || len(ms) != 1 || len(ms[0].Env) != 1 {
		t.Fatalf("manifests %+v, %v", ms, err)
	}
	if u, err := url.Parse(strings.TrimPrefix(ms[0].Env[0], "VICE_TARGET=")); err != nil || u.User.Username() != "user" ||
		func() string { p, _ := u.User.Password(); return p }() != testPassword || u.Host != "vc.example.com" {
		t.Errorf("the plugin's target %q", ms[0].Env[0])
	}
	gi.mu.Lock()
	for k, v := range gi.kv {
		if k != vchwire.KeySecretKey && (strings.Contains(v, testPassword) || strings.Contains(v, "PRIVATE KEY")) {
			t.Errorf("guestinfo %s shows a secret in clear: %s", k, v)
		}
	}
	gi.mu.Unlock()

	// The Docker API with a client certificate.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}}}}
	defer client.CloseIdleConnections()
	if body := get(t, client, "https://"+dockerAddr+"/_ping"); body != "OK" {
		t.Errorf("_ping %q", body)
	}

	// The portal: the status, the page and the logs, only with a client certificate.
	var api vchwire.ApplianceStatus
	if err := json.Unmarshal([]byte(get(t, client, adminURL+"/api/status")), &api); err != nil || api.State != vchwire.ApplianceRunning ||
		service(api, ServicePortal).State != ServiceRunning {
		t.Errorf("api status %+v %v", api, err)
	}
	if page := get(t, client, adminURL+"/"); !strings.Contains(page, "running") || !strings.Contains(page, "/logs/"+EngineLogName) {
		t.Errorf("status page:\n%s", page)
	}
	if logs := get(t, client, adminURL+"/logs/"+EngineLogName); !strings.Contains(logs, "fake engine starting") {
		t.Errorf("engine log %q", logs)
	}
	if resp, err := client.Get(adminURL + "/logs/..%2fengine-args.json"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("a file outside the logs: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Without a certificate: vSphere credentials, or nothing.
	anon := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	defer anon.CloseIdleConnections()
	checkPortalLogin(t, anon, adminURL)
	// A certificate of another CA is refused outright.
	stranger := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pki.pool, Certificates: []tls.Certificate{newPKI(t).client}}}}
	defer stranger.CloseIdleConnections()
	if resp, err := stranger.Get(adminURL + "/api/status"); err == nil {
		resp.Body.Close()
		t.Errorf("the portal answered a client certificate of another CA: %s", resp.Status)
	}

	testSSH(t, r)

	// New certificates: written, served by the portal at once, and the engine restarted to load them.
	pki2 := newPKI(t)
	gi.put(t, vchwire.KeyApplianceTLS, pki2.wire(t, gi, true))
	waitFor(t, "the engine to restart with the new certificates", runTimeout, func() bool {
		st := gi.status()
		return st.State == vchwire.ApplianceRunning && service(st, ServiceEngine).Restarts >= 1 &&
			service(st, ServiceEngine).State == ServiceRunning
	})
	if alive(eng.Pid) {
		t.Error("the old engine still runs")
	}
	client2 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pki2.pool, Certificates: []tls.Certificate{pki2.client}}}}
	defer client2.CloseIdleConnections()
	if body := get(t, client2, "https://"+dockerAddr+"/_ping"); body != "OK" {
		t.Errorf("_ping with the new certificates %q", body)
	}
	get(t, client2, adminURL+"/api/status")

	eng = service(gi.status(), ServiceEngine)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	st = gi.status()
	if st.State != vchwire.ApplianceStopped || service(st, ServiceEngine).State != ServiceStopped {
		t.Errorf("final status %+v", st)
	}
	if alive(eng.Pid) {
		t.Errorf("engine %d survived the appliance", eng.Pid)
	}
}

// fakeVSphereLogin stands for the target's vSphere: it knows one user.
func fakeVSphereLogin(_ context.Context, user, password string) error {
	if user == portalUser && password == testPassword {
		return nil
	}
	return errNotVSphereUser
}

const portalUser = "administrator@vsphere.local"

// checkPortalLogin: a client without a certificate is asked for vSphere credentials, refused with wrong ones,
// and served with right ones.
func checkPortalLogin(t *testing.T, c *http.Client, portal string) {
	t.Helper()
	for _, tc := range []struct {
		user, password string
		want           int
	}{{"", "", http.StatusUnauthorized}, {portalUser, "wrong", http.StatusUnauthorized}, {portalUser, testPassword, http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodGet, portal+"/api/status", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.password)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("portal as %q: %v", tc.user, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("portal as %q/%q: %s %s, want %d", tc.user, tc.password, resp.Status, body, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("portal as %q: no Basic challenge (%q)", tc.user, resp.Header.Get("WWW-Authenticate"))
		}
		if tc.want == http.StatusOK && !strings.Contains(string(body), `"state"`) {
			t.Errorf("portal as %q: %s", tc.user, body)
		}
	}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

func testSSH(t *testing.T, r *running) {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(key)
	sshPub, _ := ssh.NewPublicKey(pub)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherKey)
	addr := "127.0.0.1:" + strconv.Itoa(r.o.SSHPort)
	dial := func(s ssh.Signer) (*ssh.Client, error) {
		return ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(s)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	}
	if c, err := dial(signer); err == nil {
		c.Close()
		t.Fatal("ssh answered before debug enabled it")
	}
	r.gi.put(t, vchwire.KeyApplianceDebug, vchwire.ApplianceDebug{SSH: true,
		AuthorizedKeys: []string{strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " user@test"}})
	waitFor(t, "sshd to run", runTimeout, func() bool { return service(r.gi.status(), ServiceSSH).State == ServiceRunning })

	if c, err := dial(other); err == nil {
		c.Close()
		t.Error("an unknown key was let in")
	}
	c, err := dial(signer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	s.Stderr = &stderr
	s.Setenv("GREETING", "hello")
	out, err := s.Output(`echo "$GREETING from $DOCKER_HOST"; echo oops >&2; exit 3`)
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Errorf("exit: %v", err)
	}
	if want := "hello from unix://" + filepath.Join(r.state, EngineSocket) + "\n"; string(out) != want || stderr.String() != "oops\n" {
		t.Errorf("stdout %q stderr %q", out, stderr.String())
	}

	// With a pty.
	s, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 40, 100, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out, err = s.Output("tty; stty size")
	if err != nil || !strings.HasPrefix(string(out), "/dev/pts/") || !strings.Contains(string(out), "40 100") {
		t.Errorf("pty session: %q %v", out, err)
	}

	// A shell reads its commands from stdin.
	s, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s.Stdin = strings.NewReader("echo from the shell\n")
	var shellOut strings.Builder
	s.Stdout = &shellOut
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil || shellOut.String() != "from the shell\n" {
		t.Errorf("shell: %q %v", shellOut.String(), err)
	}

	// Turned off: the server stops and its connections end.
	r.gi.put(t, vchwire.KeyApplianceDebug, vchwire.ApplianceDebug{SSH: false})
	waitFor(t, "sshd to stop", runTimeout, func() bool { return service(r.gi.status(), ServiceSSH).State == ServiceStopped })
	waitFor(t, "the connection to be closed", runTimeout, func() bool {
		_, err := c.NewSession()
		return err != nil
	})
	if c, err := dial(signer); err == nil {
		c.Close()
		t.Error("ssh still answers")
	}
}

// Without a config the appliance waits, booting; with a bad one it reports failed; TLS off serves the
// Docker API in plain HTTP and the portal with a self-signed certificate; an engine that keeps exiting
// makes the appliance failed until it answers.
func TestRunPlainAndRestarts(t *testing.T) {
	defer func(lo, hi time.Duration) { minRestart, maxRestart = lo, hi }(minRestart, maxRestart)
	minRestart, maxRestart = 10*time.Millisecond, 20*time.Millisecond

	root, recs := testRoot(t)
	gi := newFakeGuestInfo()
	r := startAppliance(t, gi, root, nil)
	if err := os.WriteFile(filepath.Join(r.state, "crash"), []byte("3"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a report of the missing config", runTimeout, func() bool {
		st := gi.status()
		return st.State == vchwire.ApplianceBooting && strings.Contains(st.Error, "no appliance config")
	})
	cfg := testConfig(t, gi, recs)
	cfg.TLS = "maybe"
	gi.put(t, vchwire.KeyAppliance, cfg)
	if st := r.waitState(t, vchwire.ApplianceFailed); !strings.Contains(st.Error, "tls") {
		t.Errorf("error %q", st.Error)
	}
	cfg.TLS = vchwire.TLSOff
	gi.put(t, vchwire.KeyAppliance, cfg)

	st := r.waitState(t, vchwire.ApplianceRunning)
	if st.DockerHost != "tcp://127.0.0.1:"+strconv.Itoa(r.o.DockerPort) || st.Error != "" {
		t.Errorf("status %+v", st)
	}
	if eng := service(st, ServiceEngine); eng.Restarts != 3 {
		t.Errorf("engine %+v, want 3 restarts", eng)
	}
	var failed bool
	for _, w := range gi.writes() {
		if w.State == vchwire.ApplianceFailed && strings.Contains(w.Error, "crashing as asked") {
			failed = true
		}
	}
	if !failed {
		t.Error("an engine that kept exiting was not reported as failed")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if body := get(t, c, "http://127.0.0.1:"+strconv.Itoa(r.o.DockerPort)+"/_ping"); body != "OK" {
		t.Errorf("_ping %q", body)
	}
	// TLS off leaves the Docker API open, never the portal.
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer insecure.CloseIdleConnections()
	checkPortalLogin(t, insecure, st.AdminPortal)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}
