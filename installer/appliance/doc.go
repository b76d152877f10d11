// Package appliance is the init of the VCH endpoint VM (the /init of appliance.iso, built as
// installer/cmd/vice-appliance). It reads vchwire.ApplianceConfig from guestinfo (the VMware backdoor in a
// VM, the hypervisor emulator's socket under vcsim), finds the VM's address, waits for the certificates
// the installer issues for that address, registers the backend plugins for vice-engine and runs it,
// restarting it when it exits, and reports vchwire.ApplianceStatus back through guestinfo. The target's
// password and the server key come sealed; it opens them with the endpoint key guestinfo hands it
// (vchwire.KeySecretKey) and keeps them out of every status it writes. Beside the engine it serves the admin
// portal (status and logs) on port 2378 to vSphere users and holders of a client certificate and, when
// vice-machine debug asks for it, an SSH server on port 22. As PID 1 it also reaps every orphan.
//
// Run holds the logic and takes its machine (guestinfo, address, directories, process starter) as
// Options, so tests run it with fakes; Main wires it to the real machine.
package appliance
