package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// header prints (and records) the machine the numbers come from: without it a ratio means little.
func (h *harness) header() {
	var u unix.Utsname
	_ = unix.Uname(&u)
	kernel := unix.ByteSliceToString(u.Release[:])
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Join(strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:], " ")
	}
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	osName := "unknown"
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				osName = strings.Trim(v, `"`)
			}
		}
	}
	cli, _ := exec.Command(h.dockerCLI, "version", "--format", "{{.Client.Version}}").Output()
	dockerd, _ := exec.Command("dockerd", "--version").Output()
	vice, _ := exec.Command("git", "-C", h.repo, "describe", "--tags", "--always", "--dirty").Output()
	m := map[string]string{
		"nproc": fmt.Sprint(runtime.NumCPU()), "memory": mem, "kernel": kernel, "cpu": cpu, "os": osName,
		"docker_cli": strings.TrimSpace(string(cli)), "dockerd": strings.TrimSpace(string(dockerd)),
		"vice": strings.TrimSpace(string(vice)),
	}
	for k, v := range m {
		h.meta[k] = v
	}
	fmt.Printf("vice-bench %s: vice vs Docker's engine, driven by the same docker CLI, alternating per iteration\n", h.id)
	fmt.Printf("  machine %s, nproc %s, memory %s, kernel %s, %s\n", cpu, m["nproc"], mem, kernel, osName)
	fmt.Printf("  docker CLI %s (%s); %s\n", m["docker_cli"], h.dockerCLI, orDash(m["dockerd"], "dockerd not installed yet"))
	fmt.Printf("  vice %s; run directory %s; cgroup %s\n", m["vice"], h.dir, h.cg.name)
	fmt.Printf("  %d samples per quick row, %d pulls, fleet of %d (%d at a time) × up to %d rounds, budget %v\n",
		h.cfg.runs, h.cfg.pulls, h.cfg.fleet, h.cfg.parallel, h.cfg.rounds, h.cfg.budget)
}

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
