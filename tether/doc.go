// Package tether is PID 1 of a containerVM. It reads the container's configuration from guestinfo, turns
// the guest's root filesystem into a container root (pseudo-filesystems, /dev, hostname, /etc/hosts,
// resolv.conf), resolves the user against the image's /etc/passwd, starts the container's process (with a
// pty when asked), forwards signals to it, reaps every child, writes its output to the output log as
// wire.LogRecord lines, serves attach and control channels over SSH on the serial line, records the
// process's start and exit in guestinfo, and powers the machine off when the process has ended.
//
// Everything the tether needs from the machine goes through Platform: the VMware backdoor and serial ports
// in a real VM, the hypervisor emulator's file descriptors under vcsim (see tether/wire); guestinfo itself
// is tether/guestinfo's, shared with the VCH appliance's init. The tether imports only the standard
// library, golang.org/x/sys, golang.org/x/crypto and its own tether/ packages.
package tether
