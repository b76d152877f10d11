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
