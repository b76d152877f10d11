// Command vice-machine is the administrator's tool that deploys and manages Virtual Container Hosts on
// vSphere, with the verbs and flags of VIC's vic-machine (see installer/machine).
package main

import (
	"os"

	"github.com/vice-engine/vice/installer/machine"
)

// Set at link time (-X main.version=... -X main.gitCommit=...), as the Makefile does for every binary.
var (
	version   = "dev"
	gitCommit = ""
)

func main() {
	os.Exit(machine.Main(os.Args, os.Stdin, os.Stdout, machine.BuildInfo{Version: version, Commit: gitCommit}))
}
