// Package iso builds and reads the two ISO9660 images (with Rock Ridge, so programs keep their names and
// execute bits) a VCH boots from:
//
//   - bootstrap.iso, the CD-ROM every containerVM boots: the static tether at /tether and /VERSION;
//   - appliance.iso, the endpoint VM's CD-ROM: its init (vice-appliance) at /init, /bin/vice-engine, the
//     backend plugins under /plugins and /VERSION.
//
// Either may also carry a Linux kernel and initramfs (/boot/vmlinuz, /boot/initrd.img; package initramfs
// builds the latter) and, given isolinux, be El Torito bootable: isolinux boots the kernel with the
// argument that tells the initramfs's /init which of the two images it booted from. The hypervisor emulator reads the same images with its own go-diskfs
// code, since plugins do not import the installer.
package iso
