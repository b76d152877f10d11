package guestinfo

// bdoorIn loads the registers, executes "in eax, dx" (trapped by the VMware hypervisor) and stores them back.
//
//go:noescape
func bdoorIn(r *bdoorRegs)

// cpuid executes the CPUID instruction for leaf (subleaf 0).
func cpuid(leaf uint32) (eax, ebx, ecx, edx uint32)

// isVMwareGuest checks CPUID's hypervisor bit and vendor leaf before anything touches the backdoor port,
// because outside VMware the "in" instruction faults.
func isVMwareGuest() bool {
	if _, _, ecx, _ := cpuid(1); ecx&(1<<31) == 0 {
		return false
	}
	_, b, c, d := cpuid(0x40000000)
	vendor := string([]byte{
		byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24),
		byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24),
		byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24),
	})
	return vendor == "VMwareVMware"
}

func newBackdoorRPC() *backdoorRPC {
	return &backdoorRPC{bdoor: bdoorIn, available: isVMwareGuest}
}
