package wire

// Under the hypervisor emulator the tether is started with these file descriptors in place of a VM's
// devices, and with EmulatorEnv set. A real VM's tether opens /dev/ttyS0.. and uses the VMware backdoor.
const (
	// EmulatorEnv, when set to "1", selects the emulator's devices.
	EmulatorEnv = "VICE_TETHER_EMULATED"
	// RootEnv names the directory the emulator prepared as the guest's root filesystem (the overlay of the
	// disk chain); the tether pivots into it.
	RootEnv = "VICE_TETHER_ROOT"
	// CgroupEnv, when "1", says the emulator started the guest in a cgroup of its own, which accounts for
	// everything the guest runs (its CPU, memory and I/O, as a VM's counters would): the tether reads the
	// container's stats there. Without it the tether is alone in its machine and reads /proc.
	CgroupEnv = "VICE_TETHER_CGROUP"

	// FDSerial is a listening unix socket standing for the serial line. Each time the emulator's
	// connection to the port's network backing (the VCH) is made, it connects here and splices the two;
	// when the VCH goes away that connection ends, and the next one is a fresh SSH session. The tether
	// accepts for as long as it runs, so it survives the loss and return of the line.
	FDSerial = 3
	// FDOutputLog is the container's output.log, opened for appending.
	FDOutputLog = 4
	// FDDebugLog is tether.debug, the tether's own log.
	FDDebugLog = 5
	// FDGuestInfo is a stream socket on which guestinfo is read and written with GuestInfoRequest lines.
	FDGuestInfo = 6
)

// GuestInfoRequest is one JSON line on FDGuestInfo; each gets one GuestInfoReply line.
type GuestInfoRequest struct {
	Op    string `json:"op"` // "get" or "set"
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// GuestInfoReply answers a GuestInfoRequest. A key that is not set reads as Found false.
type GuestInfoReply struct {
	Value string `json:"value,omitempty"`
	Found bool   `json:"found"`
	Error string `json:"error,omitempty"`
}
