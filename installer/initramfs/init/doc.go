// Package init is the /init of the initramfs both ISOs boot with (built as installer/cmd/vice-init, static,
// CGO off). It runs as PID 1 before anything else: it mounts /proc, /sys and /dev, loads the kernel modules
// the initramfs lists (package initramfs put them there), finds the CD-ROM the VM booted from, and then,
// as the kernel command line's vice.boot says:
//
//   - tether (bootstrap.iso, a containerVM): mounts the container's disk, the first disk by SCSI address
//     (or virtio position) that holds an ext4 filesystem (on vSphere the chain of layer disks that ESXi
//     resolves into one block device), moves it to / as switch_root does, and hands over to the ISO's
//     /tether as PID 1, which finds itself in the container's root;
//   - appliance (appliance.iso, the VCH endpoint): brings the loopback interface and the first NIC up,
//     configures the NIC by DHCP, starts itself again as the lease's renewer (a finite lease; the process
//     outlives the exec and PID 1 reaps it), and hands over to the ISO's /init (vice-appliance) as PID 1,
//     on the initramfs as its writable root.
//
// A step that fails is reported on the console and the VM is powered off, so vSphere shows a VM that is off
// rather than one that hangs.
package init
