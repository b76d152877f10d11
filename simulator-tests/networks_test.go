package simulatortests

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// hostNetState is what a run may never leave on the host: its interfaces, named network namespaces, routes,
// iptables rules and the network namespaces mounted anywhere in its mount table.
func hostNetState(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, args := range map[string][]string{
		"ip link": {"ip", "-o", "link", "show"}, "ip netns": {"ip", "netns", "list"}, "ip route": {"ip", "route", "show"},
		"iptables -S": {"iptables", "-S"}, "iptables -t nat -S": {"iptables", "-t", "nat", "-S"},
	} {
		if _, err := exec.LookPath(args[0]); err != nil {
			t.Logf("%s is not installed: %s not compared", args[0], name)
			continue
		}
		b, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		// Counters and link state are not what a run leaves behind.
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if name == "ip link" {
				if f := strings.Fields(l); len(f) > 1 {
					l = f[1]
				}
			}
			lines = append(lines, l)
		}
		out[name] = strings.Join(lines, "\n")
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var nsfs []string
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, " - nsfs ") {
			nsfs = append(nsfs, strings.Fields(l)[4])
		}
	}
	out["nsfs mounts"] = strings.Join(nsfs, "\n")
	return out
}

// udpEchoImage imports an image of busybox and simulator-tests/cmd/udpecho, a UDP server busybox lacks.
func udpEchoImage(t *testing.T, d *deployed, name string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "udpecho")
	build := exec.Command("go", "build", "-o", bin, "./cmd/udpecho")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build udpecho: %v\n%s", err, out)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ src, name string }{{fixtures.BusyboxPath, "bin/busybox"}, {bin, "bin/udpecho"}} {
		b, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(b)
	}
	_ = tw.WriteHeader(&tar.Header{Name: "bin/sh", Linkname: "busybox", Typeflag: tar.TypeSymlink, Mode: 0o777})
	_ = tw.Close()
	file := filepath.Join(dir, "udpecho.tar")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	d.ok(t, "import", file, name)
}

// get fetches url from the host, answering "" when nothing answers.
func get(url string) string {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// linkComposePlugin makes the user's compose plugin (the docker CLI's ~/.docker/cli-plugins) one of the
// test's DOCKER_CONFIG too.
func linkComposePlugin(t *testing.T, d *deployed) {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		return
	}
	plugin := filepath.Join(home, ".docker", "cli-plugins", "docker-compose")
	if _, err := os.Stat(plugin); err != nil {
		return
	}
	for _, kv := range d.env {
		if dir, ok := strings.CutPrefix(kv, "DOCKER_CONFIG="); ok {
			_ = os.MkdirAll(filepath.Join(dir, "cli-plugins"), 0o755)
			_ = os.Symlink(plugin, filepath.Join(dir, "cli-plugins", "docker-compose"))
		}
	}
}

// engineOf is the PID of the deployed VCH's vice-engine: the one serving its address.
func engineOf(t *testing.T, d *deployed) int {
	t.Helper()
	addr := strings.TrimPrefix(d.host, "tcp://")
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		if filepath.Base(args[0]) == "vice-engine" && strings.Contains(string(cmd), "tcp://"+addr+"\x00") {
			return pid
		}
	}
	t.Fatalf("no vice-engine serves %s", addr)
	return 0
}

// TestNetworks is issue 13's acceptance with the real docker CLI against a VCH deployed by vice-machine, its
// endpoint a VM booted by the emulator: names, aliases and links in the VCH's DNS, isolation between
// networks until a running container is connected, addresses, published ports (TCP, UDP, -P, a port taken,
// docker port and ps) that survive stop/start and an endpoint killed with SIGKILL, internal networks,
// removal and prune, a docker compose project; and once the simulator stops, nothing of the run is left in the host's network.
func TestNetworks(t *testing.T) {
	before := hostNetState(t)
	e := startInstallerEnv(t)
	d := e.create(t, "vch-net", e.newISO)
	img := e.reg.Addr + "/busybox"
	d.ok(t, "pull", img)
	vch := strings.Split(strings.TrimPrefix(d.host, "tcp://"), ":")[0]
	serve := func(page string) string {
		return fmt.Sprintf("mkdir -p /www && echo %s >/www/index.html && exec httpd -f -p 80 -h /www", page)
	}
	trimmed := func(args ...string) string { return strings.TrimSpace(d.ok(t, args...)) }

	t.Run("DNS", func(t *testing.T) {
		d.ok(t, "network", "create", "n1")
		d.ok(t, "run", "-d", "--name", "srv", "--network", "n1", "--network-alias", "web", img, "sh", "-c", serve("from-srv"))
		for _, name := range []string{"srv", "web"} {
			if got := trimmed("run", "--rm", "--network", "n1", img, "timeout", "30", "wget", "-qO-", "http://"+name+"/"); got != "from-srv" {
				t.Errorf("wget http://%s/ on n1: %q", name, got)
			}
		}
		if out := d.ok(t, "run", "--rm", "--network", "n1", img, "ping", "-c1", "srv"); !strings.Contains(out, "1 packets received") {
			t.Errorf("ping srv: %s", out)
		}
		ip := trimmed("inspect", "-f", "{{.NetworkSettings.Networks.n1.IPAddress}}", "srv")
		d.ok(t, "network", "create", "n2")
		reach := func() (string, int) {
			return d.docker(t, "run", "--rm", "--network", "n2", img, "sh", "-c",
				"timeout 5 wget -qO- http://"+ip+"/ || timeout 5 wget -qO- http://srv/")
		}
		if out, code := reach(); code == 0 {
			t.Errorf("a container on n2 reached srv on n1: %s", out)
		}
		d.ok(t, "network", "connect", "n2", "srv")
		if got := trimmed("run", "--rm", "--network", "n2", img, "timeout", "30", "wget", "-qO-", "http://srv/"); got != "from-srv" {
			t.Errorf("after connect, wget http://srv/ on n2: %q", got)
		}
		d.ok(t, "network", "disconnect", "n2", "srv")
		if out, code := reach(); code == 0 {
			t.Errorf("after disconnect, a container on n2 reached srv: %s", out)
		}
		if out, code := d.docker(t, "run", "--rm", "--network", "n2", img, "nslookup", "nowhere.example"); code == 0 ||
			!strings.Contains(out, "NXDOMAIN") {
			t.Errorf("a name the VCH does not know, without name servers: %d %s", code, out)
		}
	})

	t.Run("LinksAndAddresses", func(t *testing.T) {
		d.ok(t, "run", "-d", "--name", "db", img, "sleep", "600")
		if out := d.ok(t, "run", "--rm", "--link", "db:alias", img, "ping", "-c1", "alias"); !strings.Contains(out, "1 packets received") {
			t.Errorf("ping alias: %s", out)
		}
		got := strings.Fields(trimmed("inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}}", "db"))
		sub := netip.MustParsePrefix(trimmed("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "bridge"))
		if len(got) != 3 || !sub.Contains(netip.MustParseAddr(got[0])) || !sub.Contains(netip.MustParseAddr(got[1])) || !strings.HasPrefix(got[2], "00:50:56:") {
			t.Fatalf("inspect db: %q, want an address and gateway in %s and a MAC", got, sub)
		}
		for i := range 20 {
			d.ok(t, "create", "--name", fmt.Sprintf("many%d", i), img, "true")
		}
		seen := map[string]bool{}
		for _, l := range strings.Fields(trimmed("network", "inspect", "-f", "{{range .Containers}}{{.IPv4Address}} {{end}}", "bridge")) {
			p := netip.MustParsePrefix(l)
			if !sub.Contains(p.Addr()) || seen[p.Addr().String()] {
				t.Errorf("address %s: outside %s or given twice", p, sub)
			}
			seen[p.Addr().String()] = true
		}
		if len(seen) < 21 {
			t.Errorf("%d addresses on the bridge, want 21 at least", len(seen))
		}
		for i := range 20 {
			d.ok(t, "rm", fmt.Sprintf("many%d", i))
		}
	})

	t.Run("Ports", func(t *testing.T) {
		d.ok(t, "run", "-d", "--name", "page", "-p", "8080:80", img, "sh", "-c", serve("the-page"))
		url := "http://" + vch + ":8080/"
		waitFor(t, 20*time.Second, "the published page", func() bool { return strings.TrimSpace(get(url)) == "the-page" })
		if got := trimmed("port", "page"); got != "80/tcp -> "+vch+":8080" {
			t.Errorf("docker port: %q", got)
		}
		if ps := trimmed("ps", "--filter", "name=page", "--format", "{{.Ports}}"); ps != vch+":8080->80/tcp" {
			t.Errorf("ps PORTS: %q", ps)
		}
		out, code := d.docker(t, "run", "-d", "--name", "page2", "-p", "8080:80", img, "sh", "-c", serve("other"))
		if code == 0 || !strings.Contains(out, "port is already allocated") {
			t.Errorf("a second -p 8080:80: %d %s", code, out)
		}
		d.ok(t, "run", "-d", "--name", "any", "-P", "--expose", "80", img, "sh", "-c", serve("any-port"))
		hp := strings.TrimPrefix(trimmed("port", "any", "80/tcp"), vch+":")
		if got := strings.TrimSpace(get("http://" + vch + ":" + hp + "/")); got != "any-port" {
			t.Errorf("-P's port %s: %q", hp, got)
		}

		udpEchoImage(t, d, "udpecho")
		d.ok(t, "run", "-d", "--name", "udp", "-p", "9053:9053/udp", "udpecho", "/bin/udpecho", "-listen", ":9053")
		waitFor(t, 20*time.Second, "the published UDP port", func() bool {
			c, err := net.Dial("udp4", vch+":9053")
			if err != nil {
				return false
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("ping"))
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			return err == nil && string(buf[:n]) == "echo:ping"
		})

		d.ok(t, "stop", "-t", "1", "page")
		if got := get(url); got != "" {
			t.Errorf("a stopped container's port answers: %q", got)
		}
		d.ok(t, "start", "page")
		waitFor(t, 20*time.Second, "the page after a restart", func() bool { return strings.TrimSpace(get(url)) == "the-page" })

		if err := syscall.Kill(engineOf(t, d), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "the page after the endpoint was killed", func() bool { return strings.TrimSpace(get(url)) == "the-page" })
		waitFor(t, 30*time.Second, "the endpoint", func() bool { _, code := d.docker(t, "version"); return code == 0 })
	})

	t.Run("Internal", func(t *testing.T) {
		d.ok(t, "network", "create", "--internal", "i1")
		gw := trimmed("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge")
		out, code := d.docker(t, "run", "--rm", "--network", "i1", img, "sh", "-c",
			"ip route; timeout 5 wget -qO- http://"+gw+"/ ; timeout 5 wget -qO- http://"+vch+":8080/")
		if code == 0 || strings.Contains(out, "default") || !strings.Contains(out, "Network is unreachable") {
			t.Errorf("a container on an internal network: %d\n%s", code, out)
		}
		if out := d.ok(t, "run", "--rm", img, "ip", "route"); !strings.Contains(out, "default via "+gw) {
			t.Errorf("a container on the bridge has no way out: %s", out)
		}
	})

	t.Run("Compose", func(t *testing.T) {
		linkComposePlugin(t, d)
		if _, code := d.docker(t, "compose", "version"); code != 0 {
			t.Skip("the docker CLI has no compose plugin")
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		yaml := fmt.Sprintf(`services:
  web:
    image: %[1]s
    command: ["sh", "-c", "%[2]s"]
    ports: ["8081:80"]
  client:
    image: %[1]s
    command: ["sh", "-c", "until timeout 10 wget -qO- http://web/; do sleep 0.3; done; exec sleep 600"]
    depends_on: [web]
`, img, serve("from-compose"))
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		d.ok(t, "compose", "-f", file, "-p", "ct", "up", "-d")
		waitFor(t, 30*time.Second, "the client's fetch by service name", func() bool {
			out, _ := d.docker(t, "compose", "-f", file, "-p", "ct", "logs", "client")
			return strings.Contains(out, "from-compose")
		})
		if got := strings.TrimSpace(get("http://" + vch + ":8081/")); got != "from-compose" {
			t.Errorf("the web service's published port: %q", got)
		}
		if ls := d.ok(t, "network", "ls", "--format", "{{.Name}}"); !strings.Contains(ls, "ct_default") {
			t.Errorf("compose made no network: %s", ls)
		}
		d.ok(t, "compose", "-f", file, "-p", "ct", "down")
		if ls := d.ok(t, "network", "ls", "--format", "{{.Name}}"); strings.Contains(ls, "ct_default") {
			t.Errorf("compose down left its network: %s", ls)
		}
	})

	t.Run("RemoveAndPrune", func(t *testing.T) {
		out, code := d.docker(t, "network", "rm", "n1")
		if code == 0 || !strings.Contains(out, "has active endpoints") {
			t.Errorf("network rm n1 with srv on it: %d %s", code, out)
		}
		out = d.ok(t, "network", "prune", "-f")
		for _, want := range []string{"n2", "i1"} {
			if !strings.Contains(out, want) {
				t.Errorf("prune did not remove %s:\n%s", want, out)
			}
		}
		if ls := d.ok(t, "network", "ls", "--format", "{{.Name}}"); !strings.Contains(ls, "n1") || strings.Contains(ls, "n2") {
			t.Errorf("after prune: %s", ls)
		}
	})

	stop(e.vcsim)
	waitFor(t, 30*time.Second, "the guests to end", func() bool { return len(e.guests()) == 0 })
	// What the run left is what is there now and was not before. Other tests of the same `go test ./...` may
	// hold interfaces or namespaces of their own for a while, so the host is read again until nothing is left
	// over or a minute has passed; what others removed meanwhile is not the run's doing.
	var left map[string][]string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Second) {
		left = addedLines(before, hostNetState(t))
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for k, lines := range left {
		t.Errorf("%s has after the simulator stopped what it had not before:\n%s\nbefore:\n%s", k,
			strings.Join(lines, "\n"), before[k])
	}
}

// addedLines lists, per kind of host state, the lines of after that before does not have.
func addedLines(before, after map[string]string) map[string][]string {
	added := map[string][]string{}
	for k, v := range after {
		had := map[string]bool{}
		for _, l := range strings.Split(before[k], "\n") {
			had[l] = true
		}
		for _, l := range strings.Split(v, "\n") {
			if !had[l] {
				added[k] = append(added[k], l)
			}
		}
	}
	return added
}
