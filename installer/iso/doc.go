// Package iso builds bootstrap.iso, the cdrom every containerVM boots: an ISO9660 image with Rock Ridge
// (so the tether keeps its name and execute bits) holding the static tether at /tether and a /VERSION
// file. The hypervisor emulator reads the same image with its own go-diskfs code, since plugins do not
// import the installer.
package iso
