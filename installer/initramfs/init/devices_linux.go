package init

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Devices appear as their drivers probe them, after the modules are loaded.
const (
	deviceWait = 30 * time.Second
	devicePoll = 100 * time.Millisecond
)

// mountCDROM mounts, read-only at dir, the first CD-ROM whose filesystem holds the file want.
func mountCDROM(dir, want string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var last error
	deadline := time.Now().Add(deviceWait)
	for {
		names, _ := filepath.Glob("/sys/block/sr*")
		for _, sys := range names {
			dev := "/dev/" + filepath.Base(sys)
			err := unix.Mount(dev, dir, "iso9660", unix.MS_RDONLY, "")
			if err != nil {
				last = fmt.Errorf("mount %s: %w", dev, err)
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, want)); err == nil {
				return dev, nil
			}
			last = fmt.Errorf("%s holds no %s", dev, want)
			_ = unix.Unmount(dir, 0)
		}
		if time.Now().After(deadline) {
			if last == nil {
				last = errors.New("no CD-ROM drive")
			}
			return "", fmt.Errorf("the boot CD-ROM: %w", last)
		}
		time.Sleep(devicePoll)
	}
}

// disks lists the machine's whole disks: SCSI (sd*) with their addresses, and virtio (vd*).
func disks() []disk {
	pvscsi := map[int]bool{}
	hosts, _ := filepath.Glob("/sys/class/scsi_host/host*")
	for _, h := range hosts {
		name, err := os.ReadFile(filepath.Join(h, "proc_name"))
		if n, aerr := strconv.Atoi(strings.TrimPrefix(filepath.Base(h), "host")); err == nil && aerr == nil &&
			strings.TrimSpace(string(name)) == "vmw_pvscsi" {
			pvscsi[n] = true
		}
	}
	var out []disk
	entries, _ := os.ReadDir("/sys/block")
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "sd"):
			link, err := os.Readlink(filepath.Join("/sys/block", name, "device"))
			if err != nil {
				continue
			}
			if a, ok := parseSCSIAddress(filepath.Base(link)); ok {
				out = append(out, disk{name: name, addr: a, scsi: true, pvscsi: pvscsi[a[0]]})
			}
		case strings.HasPrefix(name, "vd"):
			out = append(out, disk{name: name, addr: [4]int{virtioIndex(name)}})
		}
	}
	sortDisks(out)
	return out
}

// rootUnitWait is how long the disk at the root's address is waited for before any ext4 disk will do.
const rootUnitWait = 10 * time.Second

func hasPVSCSI(ds []disk) bool {
	for _, d := range ds {
		if d.pvscsi {
			return true
		}
	}
	return false
}

// ext4Magic is the superblock's s_magic, 1024 bytes into the disk and 0x38 into the superblock.
const ext4Magic = 0xEF53

func hasExt4(dev string) bool {
	f, err := os.Open(dev)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 2)
	if _, err := f.ReadAt(b, 1024+0x38); err != nil {
		return false
	}
	return binary.LittleEndian.Uint16(b) == ext4Magic
}

// mountRootDisk mounts at dir the container's disk: the one at its fixed SCSI address (rootDisk). A machine
// whose disks have no such address (virtio disks, or a containerVM made before the address was fixed, after
// rootUnitWait) has the first disk, in address order, holding an ext4 filesystem. The disks are waited for,
// as the controller's scan reports them one by one.
func mountRootDisk(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	deadline := start.Add(deviceWait)
	settled := time.Time{}
	for {
		ds := disks()
		if d, ok := rootDisk(ds); ok && hasExt4("/dev/"+d.name) {
			dev := "/dev/" + d.name
			if err := unix.Mount(dev, dir, "ext4", 0, ""); err != nil {
				return "", fmt.Errorf("mount the container's disk %s: %w", dev, err)
			}
			return dev, nil
		}
		if time.Since(start) < rootUnitWait && hasPVSCSI(ds) {
			time.Sleep(devicePoll)
			continue
		}
		for _, d := range ds {
			dev := "/dev/" + d.name
			if !hasExt4(dev) {
				continue
			}
			// A disk earlier in address order may still be coming; give the scan a moment once the first
			// candidate is seen.
			if settled.IsZero() {
				settled = time.Now().Add(time.Second)
			}
			if time.Now().Before(settled) {
				break
			}
			if err := unix.Mount(dev, dir, "ext4", 0, ""); err != nil {
				return "", fmt.Errorf("mount the container's disk %s: %w", dev, err)
			}
			return dev, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no disk with an ext4 filesystem (disks: %d)", len(ds))
		}
		time.Sleep(devicePoll)
	}
}
