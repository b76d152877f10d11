package tether

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// guestCgroup is the cgroup the hypervisor emulator started the guest in (wire.CgroupEnv), which accounts
// for everything the guest runs, as a VM's own counters do on a real hypervisor. Its directories are opened
// at boot, while the host's cgroup filesystems are still in view, and read through those descriptors after
// the root has moved. In a real VM the tether is the whole machine and reads /proc instead.
type guestCgroup struct {
	v2 *os.File            // the cgroup v2 directory, when the unified hierarchy is mounted
	v1 map[string]*os.File // v1 controller (memory, cpuacct, cpu, pids, blkio) -> its directory
}

// v1Controllers are the v1 hierarchies stats read.
var v1Controllers = []string{"memory", "cpuacct", "cpu", "pids", "blkio"}

// findCgroup opens the directories of the cgroup this process is in; nil when none can be opened.
func findCgroup() *guestCgroup {
	paths := cgroupPaths("/proc/self/cgroup")
	mounts := cgroupMountPoints("/proc/self/mountinfo")
	g := &guestCgroup{v1: map[string]*os.File{}}
	for _, m := range mounts {
		if m.v2 {
			if p, ok := paths[""]; ok && g.v2 == nil {
				g.v2 = openDir(m.dir(p))
			}
			continue
		}
		for _, c := range v1Controllers {
			if _, done := g.v1[c]; done || !m.controllers[c] {
				continue
			}
			if p, ok := paths[c]; ok {
				if f := openDir(m.dir(p)); f != nil {
					g.v1[c] = f
				}
			}
		}
	}
	if g.v2 == nil && len(g.v1) == 0 {
		return nil
	}
	return g
}

// cgroupPaths reads /proc/self/cgroup: each controller's path ("" for the unified hierarchy).
func cgroupPaths(file string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(file)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	root, point string // the cgroup shown at the mount point, and the mount point
	v2          bool
	controllers map[string]bool
}

// dir is where the cgroup at path is under this mount.
func (m cgroupMount) dir(path string) string {
	rel, err := filepath.Rel(m.root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.Join(m.point, rel)
}

// cgroupMountPoints reads the cgroup and cgroup2 mounts from mountinfo.
func cgroupMountPoints(file string) []cgroupMount {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []cgroupMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 {
			continue
		}
		m := cgroupMount{root: fields[3], point: fields[4], controllers: map[string]bool{}}
		switch tail[0] {
		case "cgroup2":
			m.v2 = true
		case "cgroup":
			for _, o := range strings.Split(tail[2], ",") {
				m.controllers[o] = true
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

func openDir(path string) *os.File {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return f
}

// read reads a file of a v1 controller's directory ("" for the v2 directory).
func (g *guestCgroup) read(controller, name string) (string, bool) {
	dir := g.v2
	if controller != "" {
		dir = g.v1[controller]
	}
	if dir == nil {
		return "", false
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var b strings.Builder
	buf := make([]byte, 16<<10)
	for {
		n, err := f.Read(buf)
		b.Write(buf[:n])
		if err != nil || n == 0 {
			break
		}
	}
	return b.String(), true
}
