// Package wire is the containerVM's contract, between the tether (its PID 1) and the VCH: the guestinfo keys
// and their JSON values, the serial line's synchronisation and the SSH conventions spoken over it, the output-log
// record format, and the file descriptors the hypervisor emulator hands a guest (the endpoint VM's init gets
// the same ones; the rest of its contract is installer/vchwire). The vsphere backend and the emulator import
// it; it imports only the standard library.
package wire
