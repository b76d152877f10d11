// Package machine is vice-machine, the administrator's tool that deploys and manages Virtual Container Hosts
// (DESIGN §6): the command line over the provisioning library installer/vch. It follows VIC's vic-machine:
// the same verbs (create, ls, inspect, delete, upgrade, configure, debug, update firewall, version), flags
// and output: progress lines ("Nov 22 2026 23:40:01.123Z INFO  ..."), then the report each command ends
// with (how to reach the VCH, the ls table, the inspect sheet, the create command line).
//
// The package turns flags into the library's options (prompting for a missing password on a terminal),
// prints each command's header, passes its Logger to the library as the Progress of the operation, and
// prints the library's results. Everything that talks to vSphere is the library's.
//
// One concern per file:
//
//	cli.go, cli_flags.go, prompt.go   the command line (urfave/cli), used by cmd/vice-machine
//	machine.go, commands.go   the Machine and the commands that change a VCH
//	ls.go, inspect.go, cmdline.go, debug.go   the commands with a report of their own
//	report.go, log.go   how to reach a VCH; vic-machine's progress lines
package machine
