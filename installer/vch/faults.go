package vch

import (
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vfault"
)

// The installer decides on vSphere's failures with the backend's classes (vfault, the one translation of
// vSphere faults), so a fault means the same to vice-machine as to the VCH it deploys.

// isNotFound reports a missing datastore file or folder, VM, pool or firewall ruleset.
func isNotFound(err error) bool { return errdefs.Is(vfault.Class(err), errdefs.ErrNotFound) }

// isInvalidLogin reports that the target refused the user name or password.
func isInvalidLogin(err error) bool { return errdefs.Is(vfault.Class(err), errdefs.ErrUnauthorized) }

// isNotImplemented reports a call the target does not have (a vApp's UpdateConfig on some targets).
func isNotImplemented(err error) bool {
	return errdefs.Is(vfault.Class(err), errdefs.ErrNotImplemented)
}

// isInvalidPowerState reports that a power operation found the VM already in the state it asked for. It is
// narrower than vfault's conflict class (which also has a busy VM), so it asks for the one fault.
func isInvalidPowerState(err error) bool { return fault.Is(err, &types.InvalidPowerState{}) }
