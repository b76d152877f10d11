package vsphere

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Finding an attached disk's block device in the endpoint VM, by what identifies it rather than by its name:
// its UUID, which a SCSI disk reports as its serial number (VPD page 0x80, with the VM's disk.EnableUUID)
// and the emulator puts in the name of a loop device's backing file; else its SCSI address (target = unit
// number) on the only paravirtual SCSI controller.

const (
	sysBlock     = "/sys/block"
	sysSCSIHosts = "/sys/class/scsi_host"
	devicePoll   = 100 * time.Millisecond
	rescanEvery  = 2 * time.Second
)

// diskSerial is a UUID as serial numbers carry it: lowercase hex digits only.
func diskSerial(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// findBlockDevice waits for the device of the disk with the given UUID, attached at unit on SCSI bus bus.
func findBlockDevice(ctx context.Context, uuid string, bus, unit int32) (string, error) {
	want := diskSerial(uuid)
	var lastScan time.Time
	for {
		if time.Since(lastScan) > rescanEvery {
			rescanSCSI() // a hot-added SCSI disk shows up once its host is scanned
			lastScan = time.Now()
		}
		if dev := deviceBySerial(want); dev != "" {
			return dev, nil
		}
		if dev := deviceByAddress(unit); dev != "" {
			return dev, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no block device shows the disk %s (bus %d, unit %d; devices: %s): %w", uuid, bus, unit,
				strings.Join(serials(), ", "), errdefs.Classed(ctx.Err(), errdefs.ErrUnavailable))
		case <-time.After(devicePoll):
		}
	}
}

// deviceBySerial is the whole-disk device whose serial is want.
func deviceBySerial(want string) string {
	if want == "" {
		return ""
	}
	entries, _ := os.ReadDir(sysBlock)
	for _, e := range entries {
		name := e.Name()
		if serial := blockSerial(name); serial != "" && strings.HasSuffix(serial, want) {
			return "/dev/" + name
		}
	}
	return ""
}

// serials lists the block devices that have one with their serials, for an error message.
func serials() []string {
	var out []string
	entries, _ := os.ReadDir(sysBlock)
	for _, e := range entries {
		if s := blockSerial(e.Name()); s != "" {
			out = append(out, e.Name()+"="+s)
		}
	}
	return out
}

// blockSerial reads what identifies the disk name: a loop device's backing file's name, a SCSI disk's unit
// serial number (VPD page 0x80) or WWID, a virtio disk's serial.
func blockSerial(name string) string {
	dir := filepath.Join(sysBlock, name)
	switch {
	case strings.HasPrefix(name, "loop"):
		if b, err := os.ReadFile(filepath.Join(dir, "loop", "backing_file")); err == nil {
			return diskSerial(filepath.Base(strings.TrimSpace(string(b))))
		}
	case strings.HasPrefix(name, "sd"):
		if b, err := os.ReadFile(filepath.Join(dir, "device", "vpd_pg80")); err == nil && len(b) > 4 {
			return diskSerial(string(b[4:]))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "device", "wwid")); err == nil {
			return diskSerial(strings.TrimPrefix(strings.TrimSpace(string(b)), "naa."))
		}
	case strings.HasPrefix(name, "vd"):
		if b, err := os.ReadFile(filepath.Join(dir, "serial")); err == nil {
			return diskSerial(string(b))
		}
	}
	return ""
}

// deviceByAddress is the SCSI disk at target unit of the one paravirtual SCSI host, when there is exactly
// one (with several, their order against vSphere's bus numbers is not known here).
func deviceByAddress(unit int32) string {
	hosts, _ := os.ReadDir(sysSCSIHosts)
	var pvscsi []string
	for _, h := range hosts {
		if b, err := os.ReadFile(filepath.Join(sysSCSIHosts, h.Name(), "proc_name")); err == nil &&
			strings.TrimSpace(string(b)) == "vmw_pvscsi" {
			pvscsi = append(pvscsi, strings.TrimPrefix(h.Name(), "host"))
		}
	}
	if len(pvscsi) != 1 {
		return ""
	}
	addr := pvscsi[0] + ":0:" + strconv.Itoa(int(unit)) + ":0"
	matches, _ := filepath.Glob(filepath.Join("/sys/class/scsi_disk", addr, "device", "block", "sd*"))
	if len(matches) == 1 {
		return "/dev/" + filepath.Base(matches[0])
	}
	return ""
}

// rescanSCSI asks every SCSI host to look for new devices.
func rescanSCSI() {
	hosts, _ := os.ReadDir(sysSCSIHosts)
	for _, h := range hosts {
		_ = os.WriteFile(filepath.Join(sysSCSIHosts, h.Name(), "scan"), []byte("- - -\n"), 0)
	}
}

// releaseBlockDevice has the guest let go of a SCSI disk before vSphere removes it, as unplugging should be
// announced. Loop devices are the emulator's to remove.
func releaseBlockDevice(dev string) {
	name := filepath.Base(dev)
	if strings.HasPrefix(name, "sd") {
		_ = os.WriteFile(filepath.Join(sysBlock, name, "device", "delete"), []byte("1\n"), 0)
	}
}

// deviceGoneWait bounds the wait for a detached disk's device to go.
const deviceGoneWait = 30 * time.Second

// waitDeviceGone waits until the device dev no longer shows the disk with the given UUID, and reports
// whether it went. vSphere's reconfigure returns once the disk is off the VM, but the guest's device may go a
// moment later (the emulator's loop device lets go of the disk once the kernel is done with it): an attach of
// the same disk meanwhile would find the old device by its serial.
func waitDeviceGone(ctx context.Context, dev, uuid string) bool {
	want, name := diskSerial(uuid), filepath.Base(dev)
	deadline := time.Now().Add(deviceGoneWait)
	for {
		if s := blockSerial(name); want == "" || !strings.HasSuffix(s, want) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(devicePoll):
		}
	}
}
