// Package wire is the contract between the tether (PID 1 of a containerVM) and the VCH: the guestinfo keys
// and their JSON values, the SSH conventions spoken over the containerVM's serial line, the output-log
// record format, and the file descriptors the hypervisor emulator hands a guest. The vsphere backend and
// the emulator import it; it imports only the standard library.
package wire
