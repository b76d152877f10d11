package tether

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// The container's mounts (DESIGN §5b). Each volume disk and bind source is opened before the root changes, as
// a detached mount (open_tree of the emulator's directory or of a host path, or fsmount of a block device):
// under the emulator those are paths of the host, and in a VM the disks' device nodes are under the /dev that
// the container's own /dev replaces. Once the container's root is in place each is moved onto its
// destination, resolved inside that root, after the image's contents there were copied into an empty volume.

// mountSource is one mount, opened.
type mountSource struct {
	m    wire.Mount
	fd   int  // the detached mount; -1 for a tmpfs, made in place
	file bool // a bind mount of a file
}

// diskWait bounds how long a VM's tether waits for a volume disk's device to appear.
const diskWait = 30 * time.Second

// openMountSources opens the mounts' sources; emulated says the disks are given by the emulator
// (wire.DisksEnv) rather than found on the VM's SCSI controller.
func openMountSources(emulated bool, mounts []wire.Mount) (_ []mountSource, err error) {
	var out []mountSource
	defer func() {
		if err != nil {
			closeMountSources(out)
		}
	}()
	var disks map[string]string
	if emulated {
		if raw := os.Getenv(wire.DisksEnv); raw != "" {
			if err := json.Unmarshal([]byte(raw), &disks); err != nil {
				return nil, fmt.Errorf("the emulator's disks (%s): %w", wire.DisksEnv, err)
			}
		}
	}
	for _, m := range mounts {
		s := mountSource{m: m, fd: -1}
		switch {
		case m.Type == wire.MountTmpfs, m.Type == wire.MountVolume && m.NFS != "":
			// Made in place, once the root is.
		case m.Type == wire.MountBind:
			if !emulated {
				return out, fmt.Errorf("bind mount of %s: a VM has no host paths", m.Source)
			}
			if s.fd, s.file, err = openTree(m.Source, m.CreateSource); err != nil {
				return out, fmt.Errorf("bind mount of %s on %s: %w", m.Source, m.Destination, err)
			}
		case m.Type == wire.MountVolume && m.Disk != "":
			dev, err := diskSource(emulated, disks, m.Disk)
			if err == nil {
				s.fd, err = openDisk(dev, m.FSType)
			}
			if err != nil {
				return out, fmt.Errorf("volume %s on %s (disk %s): %w", m.Source, m.Destination, m.Disk, err)
			}
		default:
			return out, fmt.Errorf("mount %s of type %s: not served by this tether", m.Destination, m.Type)
		}
		out = append(out, s)
	}
	return out, nil
}

// diskSource is what holds the disk at a SCSI address: what the emulator said, or the VM's block device.
func diskSource(emulated bool, disks map[string]string, addr string) (string, error) {
	if emulated {
		if p, ok := disks[addr]; ok {
			return p, nil
		}
		return "", errors.New("the emulator attached no such disk")
	}
	deadline := time.Now().Add(diskWait)
	for {
		dev, err := scsiBlockDevice(addr)
		if err == nil || time.Now().After(deadline) {
			return dev, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scsiBlockDevice finds the block device at "bus:unit" of the VM's paravirtual SCSI controllers, bus n being
// the n-th pvscsi host by number.
func scsiBlockDevice(addr string) (string, error) {
	busStr, unitStr, _ := strings.Cut(addr, ":")
	bus, err1 := strconv.Atoi(busStr)
	unit, err2 := strconv.Atoi(unitStr)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("bad SCSI address %q", addr)
	}
	hosts, _ := filepath.Glob("/sys/class/scsi_host/host*")
	var pvscsi []int
	for _, h := range hosts {
		name, err := os.ReadFile(filepath.Join(h, "proc_name"))
		if err == nil && strings.TrimSpace(string(name)) == "vmw_pvscsi" {
			if n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(h), "host")); err == nil {
				pvscsi = append(pvscsi, n)
			}
		}
	}
	sort.Ints(pvscsi)
	if bus >= len(pvscsi) {
		return "", fmt.Errorf("no paravirtual SCSI controller %d", bus)
	}
	blocks, _ := filepath.Glob(fmt.Sprintf("/sys/bus/scsi/devices/%d:0:%d:0/block/*", pvscsi[bus], unit))
	if len(blocks) == 0 {
		return "", fmt.Errorf("no disk at SCSI %d:0:%d:0", pvscsi[bus], unit)
	}
	return "/dev/" + filepath.Base(blocks[0]), nil
}

// openTree makes a detached copy of the mount tree at path (a bind mount, recursive as Docker's).
func openTree(path string, create bool) (int, bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) && create {
		if err = os.MkdirAll(path, 0o755); err == nil {
			st, err = os.Stat(path)
		}
	}
	if err != nil {
		return -1, false, err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return -1, false, fmt.Errorf("open_tree %s: %w", path, err)
	}
	return fd, !st.IsDir(), nil
}

// openDisk opens a volume disk: a directory (the emulator's) as a bind mount, a block device as a new mount
// of its filesystem.
func openDisk(src, fsType string) (int, error) {
	st, err := os.Stat(src)
	if err != nil {
		return -1, err
	}
	if st.IsDir() {
		fd, _, err := openTree(src, false)
		return fd, err
	}
	if st.Mode()&os.ModeDevice == 0 {
		return -1, fmt.Errorf("%s is neither a directory nor a block device", src)
	}
	if fsType == "" {
		fsType = "ext4"
	}
	fsfd, err := unix.Fsopen(fsType, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", fsType, err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "source", src); err != nil {
		return -1, fmt.Errorf("mount %s: %w", src, err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("mount %s (%s): %w", src, fsType, err)
	}
	fd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("fsmount %s: %w", src, err)
	}
	return fd, nil
}

func closeMountSources(srcs []mountSource) {
	for _, s := range srcs {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
	}
}

// attachMounts puts the opened mounts in place in the container's root, in order, and closes them.
func attachMounts(srcs []mountSource) error {
	defer closeMountSources(srcs)
	for _, s := range srcs {
		if err := attachMount(s); err != nil {
			return fmt.Errorf("mount %s on %s: %w", s.m.Type, s.m.Destination, err)
		}
	}
	return nil
}

func attachMount(s mountSource) error {
	m := s.m
	if m.Type == wire.MountTmpfs {
		return mountTmpfs(m)
	}
	if m.NFS != "" {
		return mountNFS(m)
	}
	if err := makeMountPoint(m.Destination, s.file); err != nil {
		return err
	}
	if m.Type == wire.MountVolume && !m.NoCopy {
		if err := copyUp(m.Destination, fdPath(s.fd)); err != nil {
			return fmt.Errorf("copy the image's %s into the volume %s: %w", m.Destination, m.Source, err)
		}
	}
	if m.ReadOnly {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(s.fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("read-only: %w", err)
		}
	}
	return unix.MoveMount(s.fd, "", unix.AT_FDCWD, m.Destination, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// makeMountPoint creates the destination the image lacks: a directory, or an empty file for a file.
func makeMountPoint(dst string, file bool) error {
	if !file {
		return os.MkdirAll(dst, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// mountTmpfs mounts a tmpfs with Docker's default flags (nosuid, nodev) and the mount's options.
func mountTmpfs(m wire.Mount) error {
	if err := os.MkdirAll(m.Destination, 0o755); err != nil {
		return err
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
	var data []string
	for _, o := range m.Options {
		switch o {
		case "exec":
			flags &^= unix.MS_NOEXEC
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "suid":
			flags &^= unix.MS_NOSUID
		case "dev":
			flags &^= unix.MS_NODEV
		case "ro":
			flags |= unix.MS_RDONLY
		case "noatime":
			flags |= unix.MS_NOATIME
		case "strictatime":
			flags |= unix.MS_STRICTATIME
		}
	}
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if m.SizeBytes > 0 {
		data = append(data, "size="+strconv.FormatInt(m.SizeBytes, 10))
	}
	mode := m.Mode
	if mode == 0 {
		mode = 0o1777
	}
	data = append(data, "mode="+strconv.FormatUint(uint64(mode), 8))
	return unix.Mount("tmpfs", m.Destination, "tmpfs", flags, strings.Join(data, ","))
}

// mountNFS mounts an NFS volume's export (NFS v3, no locking: one writer per volume is the VCH's rule anyway).
// The kernel's NFS client wants the server's address.
func mountNFS(m wire.Mount) error {
	host, _, ok := strings.Cut(m.NFS, ":")
	if !ok {
		return fmt.Errorf("NFS source %q is not host:/path", m.NFS)
	}
	addr := host
	if net.ParseIP(host) == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return fmt.Errorf("NFS server %s: %v", host, err)
		}
		addr = ips[0].String()
	}
	if err := os.MkdirAll(m.Destination, 0o755); err != nil {
		return err
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount(m.NFS, m.Destination, "nfs", flags, "vers=3,nolock,addr="+addr); err != nil {
		return fmt.Errorf("mount NFS %s: %w", m.NFS, err)
	}
	return nil
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
