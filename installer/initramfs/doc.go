// Package initramfs builds the initial RAM filesystem both ISOs boot with: a gzip-compressed newc cpio
// archive (written with u-root's cpio package) holding the static /init of package initramfs/init, the
// kernel modules that VMware's virtual hardware (pvscsi, vmxnet3, the IDE CD-ROM) and QEMU's (virtio,
// fw_cfg) need, with every module they depend on, and the list of those modules in the order /init loads
// them. The modules come from a Debian kernel package unpacked on the build machine; their dependencies are
// read from each module's own .modinfo section, since the package carries no modules.dep (depmod makes it
// when the package is installed).
package initramfs
