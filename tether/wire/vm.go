package wire

// In a real containerVM the tether finds its devices by position: the VCH's serial line is the first serial
// port, the output log the second and the tether's debug log the third, so the vsphere backend must add the
// ports in this order.
const (
	// SerialDevice is the network-backed serial port that carries the SSH connection to the VCH.
	SerialDevice = "/dev/ttyS0"
	// OutputLogDevice is the file-backed serial port holding output.log.
	OutputLogDevice = "/dev/ttyS1"
	// DebugLogDevice is the file-backed serial port holding tether.debug.
	DebugLogDevice = "/dev/ttyS2"
)

// A containerVM's disks sit on its first paravirtual SCSI controller (bus 0) at fixed units, which the vsphere
// backend sets explicitly and the guest finds them by: the container's own disk (the root filesystem) at
// RootDiskUnit, the volumes' disks from FirstVolumeUnit to LastVolumeUnit, skipping ControllerUnit, the unit
// vSphere keeps for the controller itself. The VM's disk.EnableUUID makes each disk report its UUID as its
// serial number too.
const (
	ControllerUnit  = 7
	RootDiskUnit    = 0
	FirstVolumeUnit = 1
	LastVolumeUnit  = 15
)
