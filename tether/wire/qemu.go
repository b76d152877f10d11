package wire

// A VM under QEMU (no VMware backdoor) gets its guestinfo the way QEMU can give it: the keys the endpoint
// writes before power-on in a fw_cfg file, and a virtio-serial port for what the guest writes, on which the
// guest speaks the emulator's protocol (GuestInfoRequest lines, each answered by a GuestInfoReply line).
const (
	// QEMUConfigFile is the fw_cfg file (-fw_cfg name=...,file=...) holding a JSON object of the VM's
	// guestinfo keys and their values, as extraConfig holds them ("guestinfo.vice./config": "{...}").
	// The guest reads it from /sys/firmware/qemu_fw_cfg/by_name/<QEMUConfigFile>/raw.
	QEMUConfigFile = "opt/vice/guestinfo"
	// QEMUGuestInfoPort names the virtserialport that carries the guest's writes (and reads of what it
	// wrote) to the host.
	QEMUGuestInfoPort = "org.vice.guestinfo"
)
