package init

// What the initramfs builder (package initramfs) and the ISO builder (installer/iso) agree on with /init.
const (
	// ModuleList is the file in the initramfs listing the kernel modules to load, one absolute path per
	// line, each after the modules it depends on.
	ModuleList = "/etc/vice/modules"

	// BootArg on the kernel command line says what the machine is: BootTether for a containerVM
	// (bootstrap.iso), BootAppliance for the VCH endpoint (appliance.iso).
	BootArg       = "vice.boot"
	BootTether    = "tether"
	BootAppliance = "appliance"

	// TetherPath is the tether on bootstrap.iso; AppliancePath the appliance's init on appliance.iso.
	TetherPath    = "/tether"
	AppliancePath = "/init"
)
