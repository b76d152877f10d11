// Package vcsim runs the simulated infrastructure of the vcsim backend: govmomi's vCenter simulator with one
// datacenter, one cluster of hosts, a datastore "datastore1" whose files live in a directory of the local
// disk (so images, volumes and records survive restarts of the simulator), and the port groups a VCH needs
// ("VM Network" and "VCH Bridge"), served over HTTPS like a real vCenter.
//
// Where the simulator and ESXi differ in a way vice depends on, it behaves as ESXi: guestinfo.ovfEnv is kept
// in the VM's .vmx and out of every API read (ovfenv.go), a vApp's limits can be changed (vapp.go).
//
// Unless disabled, the hypervisor emulator (package emulator) runs beside it and boots the guests of
// containerVMs when they power on, so containers really run.
//
// The inventory itself is not persistent: every Start builds it anew; only the datastore's files persist.
package vcsim
