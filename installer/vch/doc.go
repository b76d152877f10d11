// Package vch is the provisioning library behind vice-machine (installer/machine): it creates, finds,
// inspects, upgrades, rolls back, reconfigures and deletes Virtual Container Hosts on vSphere (DESIGN §6),
// as Go calls with typed options and results. It prints nothing: a Manager reports its progress, line by
// line, to the Progress it is given, and each operation returns what the caller reports (how to reach the
// VCH, what was kept). Options are vice-machine's flags as values, and errors name them by their flags
// ("--image-store"), with VIC's lists of suggested values.
//
// A VCH on vSphere is:
//
//   - a vApp named after the VCH under the compute resource's root pool on vCenter (UseRP makes a resource
//     pool instead), a resource pool on a standalone ESXi host; it holds the endpoint VM and every
//     containerVM, and carries the CPU and memory limits;
//   - the endpoint VM, named after the VCH, booting "[image-store] <name>/appliance.iso", logging to a
//     file-backed serial port "[image-store] <name>/appliance.log", with its whole configuration in
//     extraConfig: vchwire.KeyAppliance (JSON vchwire.ApplianceConfig), vchwire.KeyApplianceTLS,
//     vchwire.KeyVCHVersion, vchwire.KeyPublicKey; the appliance reports back under
//     vchwire.KeyApplianceStatus. The password and the server key are sealed to the VM's key, whose
//     private half (vchwire.KeySecretKey) Create writes once, in the spec that makes the VM, and nothing
//     reads back;
//   - "[image-store] <name>/" with appliance.iso and bootstrap.iso (and, after an upgrade, the previous
//     version's ISOs and configuration for Rollback), "[image-store] VIC/<name>/" where the backend keeps
//     images, and the volume store folders.
//
// Create validates everything before it makes anything (target, certificate thumbprint, datacenter,
// compute resource, datastores, networks, the name, firewall, license, DRS), and removes whatever it made
// when a later step fails. Upgrade, Rollback and Configure power-cycle the endpoint with the new ISOs or
// configuration and wait for it as Create does; the containerVMs keep running. The certificates live in a
// folder on the administrator's machine (installer/certs); the server certificate is issued once the
// appliance has reported its address. vSphere's faults are judged by the backend's classes
// (plugins/vsphere/vfault), never by their text.
//
// One concern per file:
//
//	manager.go, options.go, results.go, progress.go   the Manager, its options, results and progress
//	target.go, thumbprint.go, session.go   parse the target, pin the certificate, log in
//	inventory.go, datastores.go, networks.go, checks.go, validate.go, suggest.go   resolve and validate
//	pool.go, dsfiles.go, vmspec.go, config.go, isoimage.go, tlsmaterial.go   the pieces a VCH is made of
//	endpoint.go, restart.go, dockerping.go   drive the appliance and check its Docker API
//	vch.go, retrieve.go   find deployed VCHs
//	create.go, undo.go, list.go, inspect.go, createargs.go, delete.go, upgrade.go, configure.go, debug.go,
//	firewall.go   one operation each
//	faults.go   the vSphere faults the operations decide on
//
// The vApp: on vCenter the VCH is a vApp because govmomi's simulator supports VirtualApp.CreateChildVM (the
// vsphere backend makes its containerVMs in the pool the configuration names, vApp or not); Configure
// changes its limits with ResourcePool.UpdateConfig, which vice-vcsim answers for vApps too.
//
// vchtest holds what the tests of this package and of vice-machine deploy on: simulated targets, a
// stand-in for the appliance, ISO images.
package vch
