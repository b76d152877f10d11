//go:build !linux

package emulator

import "os"

// guestCgroup exists on Linux only; see cgroup_linux.go.
type guestCgroup struct{}

func newGuestCgroup(string) (*guestCgroup, error) { return nil, errUnsupported }
func (*guestCgroup) openV2() *os.File             { return nil }
func (*guestCgroup) enterThread() func()          { return func() {} }
func (*guestCgroup) setLimits(int64, int64) error { return errUnsupported }
func (*guestCgroup) freeze() error                { return errUnsupported }
func (*guestCgroup) thaw() error                  { return errUnsupported }
func (*guestCgroup) remove() error                { return nil }
func sweepGuestCgroups()                          {}
