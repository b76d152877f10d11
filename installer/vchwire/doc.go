// Package vchwire is the endpoint VM's contract: what vice-machine, the endpoint VM's init (installer/appliance,
// the /init of appliance.iso) and the hypervisor emulator (plugins/vcsim/emulator) agree on. It names the
// guestinfo keys and their JSON values (the appliance's config, TLS material, debug switch and status, the
// installed and previous versions), how the endpoint's secrets are sealed to its key (secrets.go), the ISO's layout (appliance.iso, its init, its console log), the
// environment the emulator gives an emulated endpoint, and the endpoint's ports.
//
// The containerVM's contract is tether/wire; the two share only the guestinfo namespace. vchwire imports only
// the standard library, so the emulator may import it without reaching into the installer.
package vchwire
