// Package guestinfo reads and writes a VM's guestinfo keys from inside the guest, the way VMware Tools'
// rpctool does: through the VMware backdoor (the RPCI "info-get" and "info-set" commands) in a real VM,
// or through the hypervisor emulator's JSON-lines socket (tether/wire.FDGuestInfo) under vcsim, or on QEMU
// through fw_cfg (what the endpoint wrote) and a virtio-serial port (what the guest writes; tether/wire's
// QEMUConfigFile and QEMUGuestInfoPort). The tether and the VCH appliance's init share it; it imports only
// the standard library, x/sys and tether/wire.
package guestinfo
