package guestinfo

import (
	"context"
	"errors"
	"os"

	"github.com/vice-engine/vice/tether/wire"
)

// ErrNotImplemented says the machine cannot do what was asked, for example the VMware backdoor on a CPU
// that is not a VMware guest.
var ErrNotImplemented = errors.New("not implemented on this platform")

// Client reads and writes guestinfo keys ("guestinfo.…").
type Client interface {
	// Get reads a key; found is false when the key is not set.
	Get(ctx context.Context, key string) (value string, found bool, err error)
	// Set writes a key; an empty value removes it, as in vSphere.
	Set(ctx context.Context, key, value string) error
}

// New picks the transport of the machine this runs on: the emulator's socket when wire.EmulatorEnv says
// so, otherwise that of the VM (NewVM).
func New() (Client, error) {
	if os.Getenv(wire.EmulatorEnv) == "1" {
		return NewEmulator()
	}
	return NewVM()
}

// NewVM is a VM's guestinfo: fw_cfg and a virtio port when QEMU gave the machine vice's configuration, the
// VMware backdoor otherwise.
func NewVM() (Client, error) {
	if IsQEMU() {
		return NewQEMU()
	}
	return NewBackdoor(), nil
}
