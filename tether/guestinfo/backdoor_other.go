//go:build !amd64

package guestinfo

// newBackdoorRPC has no backdoor to offer off amd64: every command fails with ErrNotImplemented.
func newBackdoorRPC() *backdoorRPC {
	return &backdoorRPC{available: func() bool { return false }}
}
