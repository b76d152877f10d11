package tether

import (
	"context"
	"io"
	"net"
	"os"

	"github.com/vice-engine/vice/tether/guestinfo"
	"github.com/vice-engine/vice/tether/wire"
)

// ErrNotImplemented says the platform cannot do what was asked (for example the VMware backdoor on a CPU
// that is not a VMware guest). It is guestinfo's, so either package's name matches with errors.Is.
var ErrNotImplemented = guestinfo.ErrNotImplemented

// Platform is what the tether needs from the machine it runs on.
type Platform interface {
	// GuestInfo reads a guestinfo key; found is false when the key is not set.
	GuestInfo(ctx context.Context, key string) (value string, found bool, err error)
	// SetGuestInfo writes a guestinfo key.
	SetGuestInfo(ctx context.Context, key, value string) error
	// Serial listens on the line to the VCH; each accepted connection is one SSH session.
	Serial() (net.Listener, error)
	// OutputLog is where the container's output records go.
	OutputLog() io.Writer
	// DebugLog is where the tether's own log lines go.
	DebugLog() io.Writer
	// PowerOff ends the machine. It returns only on failure.
	PowerOff() error
}

// NewPlatform picks the platform the tether runs on. This is the one place that choice is made: the
// hypervisor emulator announces itself with wire.EmulatorEnv, anything else is a real VM.
func NewPlatform() (Platform, error) {
	if os.Getenv(wire.EmulatorEnv) == "1" {
		return newEmulatorPlatform()
	}
	return newVMPlatform()
}
