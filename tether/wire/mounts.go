package wire

// Mount types of ContainerConfig.Mounts, the port layer's (volume, bind, tmpfs).
const (
	MountVolume = "volume"
	MountBind   = "bind"
	MountTmpfs  = "tmpfs"
)

// DisksEnv, under the hypervisor emulator, holds a JSON object mapping each attached disk's SCSI address
// (Mount.Disk) to what the emulator made of it: the directory holding the disk's contents (a datastore whose
// disks are directories, DESIGN §5b) or its block device. In a real VM the tether finds the disk itself, as
// the block device at that address of the paravirtual SCSI controller.
const DisksEnv = "VICE_TETHER_DISKS"

// Mount is a filesystem the tether mounts in the container before its process starts, in the order of
// ContainerConfig.Mounts (a parent before what is mounted below it).
type Mount struct {
	Type        string `json:"type"`
	Source      string `json:"source,omitempty"` // the volume's name, or the bind mount's host path
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
	// NoCopy keeps the image's contents at Destination out of an empty volume (they are copied by default).
	NoCopy bool `json:"noCopy,omitempty"`
	// CreateSource makes a missing bind source as a directory.
	CreateSource bool `json:"createSource,omitempty"`
	// Disk is a volume disk's SCSI address on the containerVM, "bus:unit"; FSType its filesystem.
	Disk   string `json:"disk,omitempty"`
	FSType string `json:"fsType,omitempty"`
	// NFS is an NFS volume's export, "host:/path" (instead of a Disk).
	NFS string `json:"nfs,omitempty"`
	// SizeBytes, Mode and Options: a tmpfs's size (0: the kernel's default), root mode (0: 1777) and
	// further options (exec, noexec, ...).
	SizeBytes int64    `json:"sizeBytes,omitempty"`
	Mode      uint32   `json:"mode,omitempty"`
	Options   []string `json:"options,omitempty"`
}
