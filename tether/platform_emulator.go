package tether

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/vice-engine/vice/tether/guestinfo"
	"github.com/vice-engine/vice/tether/wire"
)

// emulatorPlatform is the hypervisor emulator's stand-in for a VM's devices: inherited file descriptors
// whose numbers tether/wire fixes.
type emulatorPlatform struct {
	serial    *os.File
	outputLog *os.File
	debugLog  *os.File
	info      *guestinfo.Stream
}

func newEmulatorPlatform() (*emulatorPlatform, error) {
	gi := os.NewFile(wire.FDGuestInfo, "guestinfo")
	p := &emulatorPlatform{
		serial:    os.NewFile(wire.FDSerial, "serial"),
		outputLog: os.NewFile(wire.FDOutputLog, "output.log"),
		debugLog:  os.NewFile(wire.FDDebugLog, "tether.debug"),
		info:      guestinfo.NewStream(gi),
	}
	for _, f := range []*os.File{p.serial, p.outputLog, p.debugLog, gi} {
		if _, err := f.Stat(); err != nil {
			return nil, fmt.Errorf("emulator fd %s: %w", f.Name(), err)
		}
	}
	return p, nil
}

func (p *emulatorPlatform) GuestInfo(ctx context.Context, key string) (string, bool, error) {
	return p.info.Get(ctx, key)
}

func (p *emulatorPlatform) SetGuestInfo(ctx context.Context, key, value string) error {
	return p.info.Set(ctx, key, value)
}

func (p *emulatorPlatform) Serial() (net.Listener, error) {
	l, err := net.FileListener(p.serial)
	if err != nil {
		return nil, fmt.Errorf("serial listener: %w", err)
	}
	return l, nil
}

func (p *emulatorPlatform) OutputLog() io.Writer { return p.outputLog }
func (p *emulatorPlatform) DebugLog() io.Writer  { return p.debugLog }

// PowerOff exits: the emulator sees its guest's PID 1 end and powers the VM off in the simulator.
func (p *emulatorPlatform) PowerOff() error {
	_ = p.outputLog.Sync()
	_ = p.debugLog.Sync()
	os.Exit(0)
	return nil
}
