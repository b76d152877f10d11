// Package emulator is the vcsim backend's hypervisor emulator: it makes the simulator's containerVMs real on
// the local Linux host. It follows every VM's power state (in process, from the simulator's registry, or
// through the simulator's API); when a VM with a bootstrap.iso CD-ROM powers on, it boots the guest the way
// ESXi would: the tether from the ISO runs as PID 1 of new mount, PID, UTS and IPC namespaces, on an overlay
// of the VM's disk chain, with the VM's serial ports connected as their backings say and guestinfo served
// from and to the VM's extraConfig. When the guest halts the VM is powered off; when the VM is powered off
// (or destroyed) the guest is killed. What it writes to a VM (guestinfo, a power-off) is the simulator's
// API method, which every client's property collector sees: called in process when the simulator runs in
// the emulator's process (inproc.go), over the API otherwise; what it reads of a VM is copied from the
// simulator's registry in process (vmread.go), or read over the API.
//
// A VM whose CD-ROM holds appliance.iso is a VCH endpoint: the ISO's files are extracted (once per ISO
// content) and its /init runs as PID 1 of new PID, UTS, IPC and mount namespaces, but in the host's network
// namespace, with a loopback address of its own (127.64.0.0/16 by default, the same for a VM on every boot)
// in place of a DHCP lease, shown as the VM's guest IP. Its descriptors are the containerVMs' (the console,
// appliance.log, on FDDebugLog), and a scratch directory lives as long as the boot.
//
// Networks are wired as ESXi would (net.go): each port group a Linux bridge in a network namespace of the
// emulator's, each vNIC a veth pair from the VM's own namespace (where a containerVM's tether starts) onto
// its port group's bridge, with the vNIC's MAC; vNICs hot-added or removed follow the VM's NIC count. An
// appliance's processes stay in the host's namespace, and its vNICs' namespace is bound into its mount
// namespace (vchwire.NICNamespaceEnv). Nothing is added to the host's namespace, and every namespace goes
// with its VM's guest, or with the emulator.
//
// The guest's side of this is two contracts: tether/wire for every guest (EmulatorEnv, RootEnv and the FD*
// descriptors) and installer/vchwire for the endpoint (appliance.iso's layout, the appliance's environment
// and ports), the one package of the installer the emulator imports. VMs with neither ISO are left alone, so plain simulator VMs keep
// the simulator's behaviour.
package emulator
