package init

import (
	"sort"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/tether/wire"
)

// disk is a whole-disk block device and where it sits: its SCSI address (host, channel, target, lun) or,
// for a virtio disk, its position.
type disk struct {
	name   string // "sda", "vdb"
	addr   [4]int
	scsi   bool
	pvscsi bool // on a paravirtual SCSI controller (vmw_pvscsi)
}

// rootDisk picks the container's disk: the one at wire.RootDiskUnit of the first paravirtual SCSI controller,
// where the vsphere backend puts it. ds is in address order.
func rootDisk(ds []disk) (disk, bool) {
	first := -1
	for _, d := range ds {
		if d.pvscsi && (first < 0 || d.addr[0] < first) {
			first = d.addr[0]
		}
	}
	for _, d := range ds {
		if d.pvscsi && d.addr[0] == first && d.addr[1] == 0 && d.addr[2] == wire.RootDiskUnit && d.addr[3] == 0 {
			return d, true
		}
	}
	return disk{}, false
}

// parseSCSIAddress reads "2:0:1:0".
func parseSCSIAddress(s string) ([4]int, bool) {
	var a [4]int
	parts := strings.Split(s, ":")
	if len(parts) != 4 {
		return a, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return a, false
		}
		a[i] = n
	}
	return a, true
}

// virtioIndex is the position of a virtio disk by name: vda 0, vdz 25, vdaa 26.
func virtioIndex(name string) int {
	s := strings.TrimPrefix(name, "vd")
	n := 0
	for _, c := range s {
		n = n*26 + int(c-'a') + 1
	}
	return n - 1
}

// sortDisks puts SCSI disks first, by address (a containerVM's own disk is unit 0 of its first
// controller), then virtio disks by position.
func sortDisks(ds []disk) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.scsi != b.scsi {
			return a.scsi
		}
		for k := range a.addr {
			if a.addr[k] != b.addr[k] {
				return a.addr[k] < b.addr[k]
			}
		}
		return a.name < b.name
	})
}
