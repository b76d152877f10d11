package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is a long-running process the harness started (vice-vcsim, vice-registry, vice-engine, dockerd).
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
}

// startDaemon starts a process in its own process group (so a terminal's ^C reaches only the harness, which
// then stops everything in order) and inside the side's cgroup, logging to <dir>/<name>.log.
func (h *harness) startDaemon(side, name string, stdout io.Writer, path string, args ...string) (*daemon, error) {
	logf, err := os.Create(filepath.Join(h.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			logf.Close()
		}
	}()
	cmd := exec.Command(path, args...)
	cmd.Dir = h.repo
	cmd.Env = h.env()
	cmd.Stderr = logf
	cmd.Stdout = logf
	if stdout != nil {
		cmd.Stdout = io.MultiWriter(logf, stdout)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	cg, err := h.cg.open(side)
	if err != nil {
		return nil, err
	}
	defer cg.Close()
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cg.Fd())
	if err := cmd.Start(); err != nil {
		// Kernels without clone3's CLONE_INTO_CGROUP: start, then move. The child has not forked yet
		// in the few microseconds between the two.
		cmd.SysProcAttr.UseCgroupFD = false
		cmd = &exec.Cmd{Path: cmd.Path, Args: cmd.Args, Dir: cmd.Dir, Env: cmd.Env, Stdout: cmd.Stdout,
			Stderr: cmd.Stderr, SysProcAttr: cmd.SysProcAttr}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		if err := h.cg.join(side, cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("move %s into its cgroup: %w", name, err)
		}
	}
	started = true
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	// The log stays open until the process is gone: a tee'd stdout is copied by a goroutine of cmd.Wait.
	go func() { _ = cmd.Wait(); logf.Close(); close(d.done) }()
	h.daemons = append(h.daemons, d)
	return d, nil
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits, then SIGKILLs the process group.
func (d *daemon) stop(wait time.Duration) {
	if d.exited() {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(wait):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// comm is a process's command name (at most 15 characters, as the kernel keeps it).
func comm(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// rssKiB reads VmRSS from /proc/<pid>/status; 0 for a process that is gone.
func rssKiB(pid int) int64 { return procKiB(pid, "status", "VmRSS:") }

// pssKiB reads Pss from /proc/<pid>/smaps_rollup: the process's resident pages, each shared page divided
// by the number of processes mapping it, so the sum over processes counts shared text once. 0 for a process
// that is gone (or a kernel without smaps_rollup).
func pssKiB(pid int) int64 { return procKiB(pid, "smaps_rollup", "Pss:") }

// procKiB reads the kB figure of the line starting with key in /proc/<pid>/<file>; 0 without one.
func procKiB(pid int, file, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// memory is the resident memory of a group of processes, in MiB: VmRSS summed, and Pss summed.
type memory struct{ rss, pss float64 }

// memGroups sums the RSS and PSS of a side's processes by group; classify names a process's group (""
// skips it).
func (h *harness) memGroups(side string, classify func(comm string) string) (map[string]memory, map[string][]string) {
	sums := map[string]memory{}
	who := map[string][]string{}
	for _, pid := range h.cg.pids(side) {
		c := comm(pid)
		g := classify(c)
		if g == "" {
			continue
		}
		m := sums[g]
		m.rss += float64(rssKiB(pid)) / 1024
		m.pss += float64(pssKiB(pid)) / 1024
		sums[g] = m
		who[g] = append(who[g], c)
	}
	return sums, who
}

// summary renders process names with counts: "dockerd containerd containerd-shim×50".
func summary(names []string) string {
	count := map[string]int{}
	var order []string
	for _, n := range names {
		if count[n] == 0 {
			order = append(order, n)
		}
		count[n]++
	}
	var parts []string
	for _, n := range order {
		if count[n] > 1 {
			n = fmt.Sprintf("%s×%d", n, count[n])
		}
		parts = append(parts, n)
	}
	return strings.Join(parts, " ")
}
