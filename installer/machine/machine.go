package machine

import (
	"io"

	"github.com/vice-engine/vice/installer/vch"
)

// BuildInfo is vice-machine's own version, set at link time in cmd/vice-machine.
type BuildInfo struct {
	Version string
	Commit  string
}

// Machine runs vice-machine's commands: each prints its header, has the provisioning library do the work
// (its progress printed as it goes) and prints the report VIC printed at the end.
type Machine struct {
	// Out receives the progress lines and reports.
	Out io.Writer
	Log *Logger
	// Build is the installer's version ("Installer version").
	Build BuildInfo
	// VCHs does the work, reporting its progress to Log.
	VCHs *vch.Manager
}

// New is a Machine writing to out.
func New(out io.Writer, debug bool, build BuildInfo) *Machine {
	if build.Version == "" {
		build.Version = "dev"
	}
	log := NewLogger(out, debug)
	return &Machine{Out: out, Log: log, Build: build, VCHs: &vch.Manager{Progress: log}}
}
