// Package machine is vice-machine, the administrator's tool that deploys and manages Virtual Container Hosts
// (DESIGN §6). It follows VIC's vic-machine: the same verbs (create, ls, inspect, delete, upgrade, configure,
// debug, update firewall, version), flags and progress output ("Nov 22 2026 23:40:01.123Z INFO  ...").
//
// A VCH on vSphere is:
//
//   - a vApp named after the VCH under the compute resource's root pool on vCenter (--use-rp makes a
//     resource pool instead), a resource pool on a standalone ESXi host; it holds the endpoint VM and every
//     containerVM, and carries the --cpu and --memory limits;
//   - the endpoint VM, named after the VCH, booting "[image-store] <name>/appliance.iso", logging to a
//     file-backed serial port "[image-store] <name>/appliance.log", with its whole configuration in
//     extraConfig: vchwire.KeyAppliance (JSON vchwire.ApplianceConfig), vchwire.KeyApplianceTLS,
//     vchwire.KeyVCHVersion; the appliance reports back under vchwire.KeyApplianceStatus;
//   - "[image-store] <name>/" with appliance.iso and bootstrap.iso (and, after an upgrade, the previous
//     version's ISOs and configuration for --rollback), "[image-store] VIC/<name>/" where the backend keeps
//     images, and the volume store folders.
//
// Create validates everything before it makes anything (target, certificate thumbprint, datacenter,
// compute resource, datastores, networks, the name, firewall, license, DRS), and removes whatever it made
// when a later step fails. Upgrade, rollback and configure power-cycle the endpoint with the new ISOs or
// configuration and wait for it as create does; the containerVMs keep running.
//
// One concern per file:
//
//	target.go, thumbprint.go, session.go   parse --target, pin the certificate, log in
//	inventory.go, datastores.go, networks.go, checks.go, validate.go, suggest.go   resolve and validate
//	pool.go, dsfiles.go, vmspec.go, config.go, isoimage.go, tlsmaterial.go   the pieces a VCH is made of
//	endpoint.go, restart.go, dockerping.go, report.go   drive the appliance and report how to reach it
//	vch.go, retrieve.go   find deployed VCHs
//	create.go, undo.go, ls.go, inspect.go, cmdline.go, delete.go, upgrade.go, configure.go, debug.go,
//	firewall.go, version.go   one command each
//	cli.go, cli_flags.go, prompt.go   the command line (urfave/cli), used by cmd/vice-machine
//	log.go, faults.go, options.go, machine.go   output, vSphere faults, options, the Machine
//
// The vApp: on vCenter the VCH is a vApp because govmomi's simulator supports VirtualApp.CreateChildVM (the
// vsphere backend makes its containerVMs in the pool the configuration names, vApp or not); `configure
// --cpu/--memory` changes it with ResourcePool.UpdateConfig, which vice-vcsim answers for vApps too. --use-rp
// makes a resource pool instead.
package machine
