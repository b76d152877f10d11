//go:build !linux

package emulator

import "os"

type netEmu struct{}

func newNetEmu() *netEmu { return &netEmu{} }
func (*netEmu) close()   {}
func (*netEmu) refill()  {}

type vmNet struct{ ns *os.File }

func (*netEmu) newVMNet() (*vmNet, error) { return nil, errUnsupported }
func (*vmNet) sync([]vnicDevice) error    { return errUnsupported }
func (*vmNet) close()                     {}
