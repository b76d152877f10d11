package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// snapshot is the host state the leak check compares against: what existed before the run is not ours.
type snapshot struct {
	bridges  map[string]bool
	netns    map[string]bool
	iptables map[string]bool
	paths    map[string]bool // system paths dockerd or containerd might create
}

// systemPaths are where dockerd and containerd write whatever their flags say: dockerd 20.10 always keeps its
// trust key in /etc/docker/key.json, and containerd's shims put their sockets under /run/containerd/s.
var systemPaths = []string{"/etc/docker/key.json", "/etc/docker", "/run/containerd", "/run/docker",
	"/var/run/docker.sock", "/var/lib/docker", "/var/lib/containerd"}

func takeSnapshot() snapshot {
	s := snapshot{bridges: set(linesOf("ip", "-o", "link", "show", "type", "bridge")), netns: map[string]bool{},
		iptables: set(iptablesRules()), paths: map[string]bool{}}
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			s.netns[e.Name()] = true
		}
	}
	for _, p := range systemPaths {
		s.paths[p] = exists(p)
	}
	return s
}

// cleanup stops everything the run started, in dependency order, then removes its traces and verifies.
// It runs once, from main's defer, also after an interrupt; it uses no cancelled context.
func (h *harness) cleanup() {
	h.cleanOnce.Do(func() {
		fmt.Println("\ncleanup:")
		ctx := context.Background()
		for _, s := range []*side{h.vice, h.docker} {
			if s == nil {
				continue
			}
			if _, ids, err := h.cli(ctx, s, 30*time.Second, "ps", "-aq"); err == nil && ids != "" {
				_, _, err := h.cli(ctx, s, 3*time.Minute, append([]string{"rm", "-f"}, splitLines(ids)...)...)
				fmt.Printf("  removed %d leftover containers on %s (err: %v)\n", len(splitLines(ids)), s.name, err)
			}
		}
		for i := len(h.daemons) - 1; i >= 0; i-- { // the endpoint before the simulator, dockerd before containerd
			h.daemons[i].stop(20 * time.Second)
		}
		if left := h.cg.killAll(10 * time.Second); len(left) > 0 {
			fmt.Printf("  LEFT processes that survived SIGKILL: %v\n", left)
		}
		for _, m := range h.mountsUnder() {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
				fmt.Printf("  unmount %s: %v\n", m, err)
			}
		}
		if err := h.cg.remove(); err != nil {
			fmt.Printf("  %v\n", err)
		}
		for _, p := range systemPaths {
			switch {
			case h.before.paths[p] || !exists(p):
			case p == "/etc/docker/key.json":
				os.Remove(p) // this run's dockerd made it; the next dockerd makes its own
			case onlyDirsOrSockets(p):
				os.RemoveAll(p) // made by this run's daemons, and empty of anything else
			}
		}
		h.keepLogs()
		if len(h.mountsUnder()) == 0 { // never remove through a mount
			os.RemoveAll(h.dir)
		}
		h.verify()
	})
}

// verify prints every check of the teardown and whether it passed.
func (h *harness) verify() {
	after := takeSnapshot()
	check := func(what string, left []string) {
		if len(left) == 0 {
			fmt.Printf("  ok    %s\n", what)
		} else {
			fmt.Printf("  LEFT  %s: %s\n", what, strings.Join(left, ", "))
		}
	}
	var procs []string
	for _, pid := range h.cg.pids("") {
		procs = append(procs, fmt.Sprintf("%s[%d]", comm(pid), pid))
	}
	check("no process left in cgroup "+h.cg.name+" (daemons, shims, containers, vice guests)", procs)
	check("cgroup "+h.cg.name+" removed from every hierarchy", h.cg.roots())
	check("no mount left under "+h.dir+" (overlays, netns and shm of dockerd)", h.mountsUnder())
	var dir []string
	if exists(h.dir) {
		dir = []string{h.dir}
	}
	check("run directory removed", dir)
	check("no new bridge", newKeys(after.bridges, h.before.bridges))
	check("no new network namespace in /run/netns", newKeys(after.netns, h.before.netns))
	check("iptables rules unchanged (no rule added)", newKeys(after.iptables, h.before.iptables))
	var paths []string
	for _, p := range systemPaths {
		if after.paths[p] && !h.before.paths[p] {
			paths = append(paths, p)
		}
	}
	check("no new "+strings.Join(systemPaths, " "), paths)
}

// mountsUnder lists the mount points below the run directory, deepest first.
func (h *harness) mountsUnder() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == h.dir || strings.HasPrefix(fields[4], h.dir+"/")) {
			out = append(out, fields[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// keepLogs copies the daemons' logs next to the JSON results, for a look after the run directory is gone.
func (h *harness) keepLogs() {
	dst := filepath.Join(h.cfg.out, h.started.Format("20060102-150405")+"-logs")
	logs, _ := filepath.Glob(filepath.Join(h.dir, "*.log"))
	if len(logs) == 0 || os.MkdirAll(dst, 0o755) != nil {
		return
	}
	for _, l := range logs {
		if data, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(dst, filepath.Base(l)), data, 0o644)
		}
	}
	fmt.Printf("  logs kept in %s\n", dst)
}

func onlyDirsOrSockets(root string) bool {
	only := true
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || (!d.IsDir() && d.Type()&fs.ModeSocket == 0) {
			only = false
		}
		return nil
	})
	return only
}

func iptablesRules() []string {
	var out []string
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		for _, l := range linesOf(tool) {
			if strings.HasPrefix(l, "#") {
				continue
			}
			if i := strings.LastIndex(l, " ["); strings.HasPrefix(l, ":") && i > 0 {
				l = l[:i] // a chain without its packet counters
			}
			out = append(out, tool+": "+l)
		}
	}
	return out
}

func linesOf(name string, args ...string) []string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if name == "ip" { // "3: br0: <...>": keep the name
			if f := strings.Fields(l); len(f) > 1 {
				l = strings.TrimSuffix(f[1], ":")
			}
		}
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func newKeys(after, before map[string]bool) []string {
	var out []string
	for k := range after {
		if !before[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
