package dockerapi_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNetworksCLI drives Docker's network commands with the real docker binary: the predefined networks,
// create with an IPAM configuration, inspect, dockerd's errors, containers on networks (their settings in
// both inspects), removal refused while in use, and prune.
func TestNetworksCLI(t *testing.T) {
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not on PATH")
	}
	s := newStack(t)
	importImage(t, s, "busybox:latest", `CMD ["sh"]`)
	_, addr := serve(t, s)
	config := t.TempDir()
	docker := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"-H", "tcp://" + addr}, args...)...)
		cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+config, "HOME="+config)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	ok := func(args ...string) string {
		t.Helper()
		out, err := docker(args...)
		if err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, err := docker(args...)
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("docker %v: %v %q, want a failure saying %q", args, err, out, want)
		}
	}
	expect := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}

	start := time.Now().Add(-time.Second).Unix()
	ls := ok("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
	for _, want := range []string{"bridge bridge local", "host host local", "none null local"} {
		if !strings.Contains(ls, want) {
			t.Errorf("network ls lacks %q:\n%s", want, ls)
		}
	}
	id := ok("network", "create", "--subnet", "10.99.0.0/16", "--gateway", "10.99.0.254", "--ip-range", "10.99.1.0/24",
		"--label", "tier=back", "--opt", "com.example.x=y", "--internal", "--attachable", "n1")
	if len(id) != 64 {
		t.Fatalf("network create printed %q, want an ID", id)
	}
	expect(ok("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} "+
		"{{.Internal}} {{.Attachable}} {{index .Labels \"tier\"}} {{index .Options \"com.example.x\"}}", "n1"),
		"n1 bridge 10.99.0.0/16 10.99.0.254 10.99.1.0/24 true true back y")
	expect(ok("network", "inspect", "-f", "{{.Name}}", id[:12]), "n1")
	auto := ok("network", "create", "n2")
	if sub := ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "n2"); !strings.HasSuffix(sub, ".0.0/16") {
		t.Errorf("n2's subnet %q, want a /16 of the bridge range", sub)
	}
	fails("network with name n1 already exists", "network", "create", "n1")
	fails("Pool overlaps with other one on this address space", "network", "create", "--subnet", "10.99.5.0/24", "n3")
	fails("bridge is a pre-defined network and cannot be removed", "network", "rm", "bridge")
	fails("network nope not found", "network", "inspect", "nope")
	fails("vice creates bridge networks only", "network", "create", "-d", "overlay", "n4")
	expect(ok("network", "ls", "-q", "--filter", "label=tier=back", "--no-trunc"), id)
	expect(ok("network", "ls", "--filter", "type=custom", "--format", "{{.Name}}"), "n1\nn2")
	expect(ok("network", "ls", "--filter", "name=n2", "--format", "{{.ID}}", "--no-trunc"), auto)

	ok("create", "--name", "web", "--network", "n1", "--network-alias", "www", "--ip", "10.99.1.7",
		"--mac-address", "00:50:56:12:34:56", "busybox", "true")
	expect(ok("inspect", "-f", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.MacAddress}} {{$v.Aliases}} `+
		`{{$v.IPAMConfig.IPv4Address}}{{end}}`, "web"), "n1 00:50:56:12:34:56 [www] 10.99.1.7")
	expect(ok("network", "inspect", "-f", `{{range .Containers}}{{.Name}} {{.IPv4Address}} {{.MacAddress}}{{end}}`, "n1"),
		"web 10.99.1.7/16 00:50:56:12:34:56")
	fails("Address already in use", "create", "--network", "n1", "--ip", "10.99.1.7", "busybox", "true")
	fails("user specified IP address is supported on user defined networks only", "create", "--ip", "172.16.9.9", "busybox", "true")
	fails("--network host", "create", "--network", "host", "busybox", "true")
	fails("has active endpoints", "network", "rm", "n1")

	ok("network", "connect", "--alias", "w2", "n2", "web")
	expect(ok("inspect", "-f", `{{len .NetworkSettings.Networks}}`, "web"), "2")
	fails("already exists in network n2", "network", "connect", "n2", "web")
	ok("network", "disconnect", "n2", "web")
	expect(ok("inspect", "-f", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}`, "web"), "n1")

	ok("create", "--name", "plain", "busybox", "true")
	expect(ok("inspect", "-f", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}} {{.HostConfig.NetworkMode}}`, "plain"), "bridge default")
	ok("create", "--name", "nonet", "--network", "none", "busybox", "true")
	expect(ok("inspect", "-f", `{{len .NetworkSettings.Networks}}`, "nonet"), "0")

	expect(ok("network", "prune", "-f"), "Deleted Networks:\nn2")
	ok("rm", "web")
	ok("network", "rm", "n1")
	fails("network n1 not found", "network", "inspect", "n1")
	ok("rm", "plain", "nonet")

	// Docker's network events, in order, with the container of a connect.
	events := ok("events", "--since", fmt.Sprint(start), "--until", fmt.Sprint(time.Now().Add(time.Second).Unix()),
		"--filter", "type=network", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	for _, want := range []string{"create n1", "create n2", "connect n2", "disconnect n2", "destroy n2", "destroy n1"} {
		if !strings.Contains(events, want) {
			t.Errorf("network events lack %q:\n%s", want, events)
		}
	}
}
