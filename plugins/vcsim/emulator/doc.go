// Package emulator is the vcsim backend's hypervisor emulator: it makes the simulator's containerVMs real on
// the local Linux host. It watches every VM's power state through the simulator's own API; when a VM with a
// bootstrap.iso CD-ROM powers on, it boots the guest the way ESXi would: the tether from the ISO runs as PID 1
// of new mount, PID, UTS and IPC namespaces, on an overlay of the VM's disk chain, with the VM's serial ports
// connected as their backings say and guestinfo served from and to the VM's extraConfig. When the guest halts
// the VM is powered off; when the VM is powered off (or destroyed) the guest is killed.
//
// The guest's side of this is the contract in tether/wire (EmulatorEnv, RootEnv and the FD* descriptors).
// VMs without a bootstrap.iso CD-ROM are left alone, so plain simulator VMs keep the simulator's behaviour.
package emulator
