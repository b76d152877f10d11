package emulator

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// guestCgroup is a guest's share of the host, as ESXi meters and bounds a VM: one cgroup in every mounted
// hierarchy (each v1 controller's and the unified one), under the emulator's own cgroups. The guest is
// started in it (wire.CgroupEnv tells the tether to read its stats there); its memory and CPU are bounded
// by the VM's size; pausing the VM freezes it, as suspending a VM stops its vCPUs.
type guestCgroup struct {
	name string
	v1   map[string]string // hierarchy mount point (one per v1 hierarchy, whatever its controllers) -> dir
	// v1Parent is each v1 hierarchy's parent dir (the emulator's own cgroup), where the starting thread goes
	// back to.
	v1Parent map[string]string
	v2       string // the unified hierarchy's dir; "" when it is not mounted
	freezer  string // v1 freezer's dir; "" when the v1 freezer is not mounted
	memory   string // v1 memory's dir
	cpu      string // v1 cpu's dir
}

// guestCgroupPrefix names the emulator's guest cgroups: vice-guest-<emulator pid>-<vm id>.
const guestCgroupPrefix = "vice-guest-"

// newGuestCgroup makes the cgroups of one guest. It fails only when no hierarchy could take one.
func newGuestCgroup(vmID string) (*guestCgroup, error) {
	c := &guestCgroup{name: fmt.Sprintf("%s%d-%s", guestCgroupPrefix, os.Getpid(), vmID),
		v1: map[string]string{}, v1Parent: map[string]string{}}
	var errs []error
	for _, h := range ownCgroups() {
		dir := filepath.Join(h.dir, c.name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			errs = append(errs, err)
			continue
		}
		if h.v2 {
			c.v2 = dir
			continue
		}
		c.v1[h.point], c.v1Parent[h.point] = dir, h.dir
		switch {
		case h.controllers["freezer"]:
			c.freezer = dir
		case h.controllers["memory"]:
			c.memory = dir
		}
		if h.controllers["cpu"] {
			c.cpu = dir
		}
	}
	if c.v2 == "" && len(c.v1) == 0 {
		return nil, fmt.Errorf("no cgroup for the guest: %w", errors.Join(errs...))
	}
	return c, nil
}

// cgroupDir is one hierarchy's mount and the emulator's own cgroup in it.
type cgroupDir struct {
	point, dir  string
	v2          bool
	controllers map[string]bool
}

// ownCgroups lists the emulator's own cgroup in every mounted hierarchy (named-only v1 hierarchies, such
// as systemd's, left out).
func ownCgroups() []cgroupDir {
	paths := map[string]string{}
	for _, line := range strings.Split(readFile("/proc/self/cgroup"), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			paths[parts[1]] = parts[2]
		}
	}
	var out []cgroupDir
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 {
			continue
		}
		d := cgroupDir{point: fields[4], controllers: map[string]bool{}}
		var path string
		switch tail[0] {
		case "cgroup2":
			d.v2, path = true, paths[""]
		case "cgroup":
			var names []string
			for _, o := range strings.Split(tail[2], ",") {
				if o != "rw" && o != "ro" && !strings.HasPrefix(o, "name=") && !strings.Contains(o, "=") {
					d.controllers[o] = true
					names = append(names, o)
				}
			}
			if len(names) == 0 {
				continue
			}
			// /proc/self/cgroup lists a hierarchy by its controllers in the kernel's order; mount options
			// may order them otherwise, so look for the entry holding the first.
			for k, p := range paths {
				if k != "" && containsField(k, names[0]) {
					path = p
				}
			}
		default:
			continue
		}
		rel, err := filepath.Rel(fields[3], path)
		if path == "" || err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		d.dir = filepath.Join(d.point, rel)
		out = append(out, d)
	}
	return out
}

func containsField(list, name string) bool {
	for _, f := range strings.Split(list, ",") {
		if f == name {
			return true
		}
	}
	return false
}

// openV2 opens the unified hierarchy's dir for CLONE_INTO_CGROUP; nil without one.
func (c *guestCgroup) openV2() *os.File {
	if c == nil || c.v2 == "" {
		return nil
	}
	f, err := os.OpenFile(c.v2, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return f
}

// enterThread moves the calling thread (locked to its goroutine) into the v1 cgroups, so the process it
// forks starts in them; leave moves it back. The unified hierarchy is entered with CLONE_INTO_CGROUP
// instead: v2 moves whole processes, not threads.
//
// The thread names itself as "0", not by its ID: the kernel moves the writer itself without taking the
// global lock that keeps every thread group of the host from forking meanwhile (cgroup_threadgroup_rwsem),
// whose write side waits for an RCU grace period, 6–20 ms on a loaded host, the largest part of a
// guest's start; named by its ID, the thread would be moved under that lock.
func (c *guestCgroup) enterThread() (leave func()) {
	if c == nil {
		return func() {}
	}
	for point, dir := range c.v1 {
		if err := writeSelf(filepath.Join(dir, "tasks")); err != nil {
			delete(c.v1, point) // a hierarchy that refuses us accounts nothing of the guest
		}
	}
	return func() {
		for point := range c.v1 {
			_ = writeSelf(filepath.Join(c.v1Parent[point], "tasks"))
		}
	}
}

// writeSelf moves the calling thread into the cgroup whose tasks file is path.
func writeSelf(path string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte("0"))
	return err
}

// setLimits bounds the guest to the VM's size: cpus vCPUs of time, memMB of memory. A hierarchy that
// lacks a controller does not bound it.
func (c *guestCgroup) setLimits(cpus, memMB int64) error {
	var errs []error
	const period = 100000
	if cpus > 0 {
		switch {
		case c.cpu != "":
			errs = append(errs, writeFile(c.cpu, "cpu.cfs_period_us", strconv.Itoa(period)),
				writeFile(c.cpu, "cpu.cfs_quota_us", strconv.FormatInt(cpus*period, 10)))
		case c.v2 != "" && exists(filepath.Join(c.v2, "cpu.max")):
			errs = append(errs, writeFile(c.v2, "cpu.max", fmt.Sprintf("%d %d", cpus*period, period)))
		}
	}
	if memMB > 0 {
		bytes := strconv.FormatInt(memMB<<20, 10)
		switch {
		case c.memory != "":
			errs = append(errs, writeFile(c.memory, "memory.limit_in_bytes", bytes))
		case c.v2 != "" && exists(filepath.Join(c.v2, "memory.max")):
			errs = append(errs, writeFile(c.v2, "memory.max", bytes))
		}
	}
	return errors.Join(errs...)
}

// freezeWait bounds how long a freeze or thaw may take to settle.
const freezeWait = 5 * time.Second

// freeze stops every process of the guest where it is.
func (c *guestCgroup) freeze() error { return c.setFrozen(true) }

// thaw lets them go on.
func (c *guestCgroup) thaw() error { return c.setFrozen(false) }

func (c *guestCgroup) setFrozen(frozen bool) error {
	if c.freezer != "" {
		want := map[bool]string{true: "FROZEN", false: "THAWED"}[frozen]
		if err := writeFile(c.freezer, "freezer.state", want); err != nil {
			return err
		}
		return waitFor(func() bool { return strings.TrimSpace(readFile(filepath.Join(c.freezer, "freezer.state"))) == want })
	}
	if c.v2 != "" {
		if err := writeFile(c.v2, "cgroup.freeze", map[bool]string{true: "1", false: "0"}[frozen]); err != nil {
			return err
		}
		want := map[bool]string{true: "frozen 1", false: "frozen 0"}[frozen]
		return waitFor(func() bool { return strings.Contains(readFile(filepath.Join(c.v2, "cgroup.events")), want) })
	}
	return errors.New("no freezer for the guest's cgroup")
}

// remove deletes the guest's cgroups once the processes in them are gone (the kernel reaps a PID
// namespace's processes shortly after its init dies).
func (c *guestCgroup) remove() error {
	if c == nil {
		return nil
	}
	var errs []error
	dirs := []string{c.v2}
	for _, d := range c.v1 {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		var err error
		for deadline := time.Now().Add(freezeWait); ; time.Sleep(20 * time.Millisecond) {
			if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) || time.Now().After(deadline) {
				break
			}
		}
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// sweepGuestCgroups removes the empty guest cgroups an emulator that died left under ours.
func sweepGuestCgroups() {
	for _, h := range ownCgroups() {
		entries, _ := os.ReadDir(h.dir)
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), guestCgroupPrefix)
			pid, _, _ := strings.Cut(rest, "-")
			if n, err := strconv.Atoi(pid); ok && e.IsDir() && err == nil && unix.Kill(n, 0) != nil {
				_ = unix.Rmdir(filepath.Join(h.dir, e.Name()))
			}
		}
	}
}

func waitFor(cond func() bool) error {
	for deadline := time.Now().Add(freezeWait); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return errors.New("the cgroup freezer did not settle")
		}
	}
	return nil
}

func writeFile(dir, name, value string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(value), 0)
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
