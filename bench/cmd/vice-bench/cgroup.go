package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cgroups tracks every process either side starts. Each side's daemons are started straight into their own
// cgroup (clone into cgroup v2, which also covers hybrid hosts through /sys/fs/cgroup/unified); children,
// reparented shims and the vice guests inherit it whatever namespaces they enter, so "what is left" is just
// "which pids are still in the tree". Docker's containers are placed under the same name with
// --cgroup-parent, which lands in each v1 hierarchy too; teardown removes the name from every hierarchy.
type cgroups struct {
	name string // vice-bench-<id>, the directory under every hierarchy
	v2   string // <unified mount>/<name>
}

// newCgroups creates <v2 root>/<name>/{vice,docker,registry}.
func newCgroups(name string) (*cgroups, error) {
	root := ""
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			root = dir
			break
		}
	}
	if root == "" {
		return nil, errors.New("no cgroup v2 hierarchy mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified")
	}
	c := &cgroups{name: name, v2: filepath.Join(root, name)}
	for _, side := range []string{"vice", "docker", "registry"} {
		if err := os.MkdirAll(filepath.Join(c.v2, side), 0o755); err != nil {
			return nil, fmt.Errorf("cgroup: %w", err)
		}
	}
	return c, nil
}

// open returns a descriptor of a side's cgroup for SysProcAttr.CgroupFD; the caller closes it.
func (c *cgroups) open(side string) (*os.File, error) {
	return os.OpenFile(filepath.Join(c.v2, side), os.O_RDONLY|syscall.O_DIRECTORY, 0)
}

// join moves pid into a side's cgroup: the fallback when the kernel refuses to clone into it.
func (c *cgroups) join(side string, pid int) error {
	return os.WriteFile(filepath.Join(c.v2, side, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// pids lists the processes in a side's cgroup and below ("" for the whole tree), sorted.
func (c *cgroups) pids(side string) []int {
	seen := map[int]bool{}
	for _, root := range c.roots() {
		dir := filepath.Join(root, side)
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			for _, pid := range readPids(filepath.Join(p, "cgroup.procs")) {
				seen[pid] = true
			}
			return nil
		})
	}
	out := make([]int, 0, len(seen))
	for pid := range seen {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}

// roots are <hierarchy>/<name> for every mounted cgroup hierarchy where the name exists.
func (c *cgroups) roots() []string {
	var out []string
	for _, mnt := range cgroupMounts() {
		dir := filepath.Join(mnt, c.name)
		if _, err := os.Stat(dir); err == nil {
			out = append(out, dir)
		}
	}
	return out
}

// killAll SIGKILLs whatever is left in the tree until it is empty or the wait runs out.
func (c *cgroups) killAll(wait time.Duration) []int {
	deadline := time.Now().Add(wait)
	for {
		left := c.pids("")
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// remove deletes the name from every hierarchy, deepest directories first; a cgroup still holding a
// process cannot be removed, which is reported.
func (c *cgroups) remove() error {
	var errs []error
	for _, root := range c.roots() {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("rmdir %s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

func readPids(file string) []int {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// cgroupMounts lists the mount points of every cgroup and cgroup2 filesystem.
func cgroupMounts() []string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && (fields[2] == "cgroup" || fields[2] == "cgroup2") {
			out = append(out, fields[1])
		}
	}
	return out
}
