package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ensureDockerd installs Debian's docker.io when dockerd and containerd are missing. A policy-rc.d that
// refuses every service start is in place during the install (one is added and removed again when the host
// has none), so the system's docker and containerd services are never started.
func (h *harness) ensureDockerd(ctx context.Context) error {
	_, e1 := exec.LookPath("dockerd")
	_, e2 := exec.LookPath("containerd")
	if e1 == nil && e2 == nil {
		return nil
	}
	const policy = "/usr/sbin/policy-rc.d"
	if !exists(policy) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\n# vice-bench: no service starts during its install\nexit 101\n"), 0o755); err != nil {
			return err
		}
		defer os.Remove(policy)
	}
	logf("dockerd is missing: apt-get install -y docker.io (no services are started)")
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", "docker.io")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install docker.io: %w\n%s", err, out)
	}
	return nil
}

// startDocker starts a containerd and a dockerd of the harness's own: every path under the run directory,
// no bridge, no iptables or forwarding changes, containers' cgroups under the harness's cgroup. containerd
// is started explicitly (rather than by dockerd) because dockerd would otherwise adopt a system containerd
// that happens to be listening on /run/containerd/containerd.sock.
func (h *harness) startDocker(ctx context.Context) error {
	dir := filepath.Join(h.dir, "docker")
	for _, d := range []string{"data", "exec", "containerd/root", "containerd/state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return err
		}
	}
	ctrSock := filepath.Join(dir, "containerd.sock")
	toml := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
`, filepath.Join(dir, "containerd/root"), filepath.Join(dir, "containerd/state"), ctrSock, ctrSock+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "containerd.toml"), []byte(toml), 0o600); err != nil {
		return err
	}
	ctr, err := h.startDaemon("docker", "containerd", nil, "containerd", "--config", filepath.Join(dir, "containerd.toml"))
	if err != nil {
		return err
	}
	for i := 0; i < 100 && !exists(ctrSock); i++ {
		if ctr.exited() {
			return fmt.Errorf("containerd exited; see %s/containerd.log", h.dir)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		return err
	}
	sock := filepath.Join(dir, "docker.sock")
	dockerd, err := h.startDaemon("docker", "dockerd", nil, "dockerd",
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--containerd", ctrSock,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"-H", "unix://"+sock,
		"--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
		"--insecure-registry", h.reg,
		"--cgroup-parent", "/"+h.cg.name+"/docker",
		"--log-level", "warn")
	if err != nil {
		return err
	}
	h.docker = &side{name: "docker", host: "unix://" + sock, dial: dialer("unix", sock)}
	if err := h.waitCLI(ctx, h.docker, dockerd, time.Minute); err != nil {
		return err
	}
	logf("dockerd answers on %s", h.docker.host)
	return nil
}

// versions records both engines' versions for the header and the JSON.
func (h *harness) versions(ctx context.Context) {
	for _, s := range h.sides() {
		_, out, err := h.cli(ctx, s, 10*time.Second, "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})")
		if err != nil {
			out = "unknown: " + brief(err)
		}
		h.meta[s.name+"_server"] = out
		fmt.Printf("  %-7s server %s\n", s.name, out)
	}
	if out, err := exec.Command("containerd", "--version").Output(); err == nil {
		h.meta["containerd"] = strings.TrimSpace(string(out))
	}
}
