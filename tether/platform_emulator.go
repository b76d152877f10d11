package tether

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/vice-engine/vice/tether/wire"
)

// emulatorPlatform is the hypervisor emulator's stand-in for a VM's devices: inherited file descriptors
// whose numbers tether/wire fixes.
type emulatorPlatform struct {
	serial    *os.File
	outputLog *os.File
	debugLog  *os.File

	// giMu serialises guestinfo exchanges: the socket carries one request and its reply at a time.
	giMu    sync.Mutex
	giConn  io.ReadWriteCloser
	giReply *bufio.Reader
}

func newEmulatorPlatform() (*emulatorPlatform, error) {
	gi := os.NewFile(wire.FDGuestInfo, "guestinfo")
	p := &emulatorPlatform{
		serial:    os.NewFile(wire.FDSerial, "serial"),
		outputLog: os.NewFile(wire.FDOutputLog, "output.log"),
		debugLog:  os.NewFile(wire.FDDebugLog, "tether.debug"),
		giConn:    gi,
		giReply:   bufio.NewReader(gi),
	}
	for _, f := range []*os.File{p.serial, p.outputLog, p.debugLog, gi} {
		if _, err := f.Stat(); err != nil {
			return nil, fmt.Errorf("emulator fd %s: %w", f.Name(), err)
		}
	}
	return p, nil
}

func (p *emulatorPlatform) exchange(ctx context.Context, req wire.GuestInfoRequest) (wire.GuestInfoReply, error) {
	var reply wire.GuestInfoReply
	if err := ctx.Err(); err != nil {
		return reply, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return reply, err
	}
	p.giMu.Lock()
	defer p.giMu.Unlock()
	if _, err := p.giConn.Write(append(b, '\n')); err != nil {
		return reply, fmt.Errorf("guestinfo %s %s: %w", req.Op, req.Key, err)
	}
	line, err := p.giReply.ReadBytes('\n')
	if err != nil {
		return reply, fmt.Errorf("guestinfo %s %s: %w", req.Op, req.Key, err)
	}
	if err := json.Unmarshal(line, &reply); err != nil {
		return reply, fmt.Errorf("guestinfo %s %s: %w", req.Op, req.Key, err)
	}
	if reply.Error != "" {
		return reply, fmt.Errorf("guestinfo %s %s: %s", req.Op, req.Key, reply.Error)
	}
	return reply, nil
}

func (p *emulatorPlatform) GuestInfo(ctx context.Context, key string) (string, bool, error) {
	r, err := p.exchange(ctx, wire.GuestInfoRequest{Op: "get", Key: key})
	return r.Value, r.Found, err
}

func (p *emulatorPlatform) SetGuestInfo(ctx context.Context, key, value string) error {
	_, err := p.exchange(ctx, wire.GuestInfoRequest{Op: "set", Key: key, Value: value})
	return err
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
