package guestinfo

import (
	"context"
	"sync"
)

// Backdoor is guestinfo through the VMware backdoor. Off VMware (or off amd64) every call fails with
// ErrNotImplemented, without touching the I/O port.
type Backdoor struct {
	mu  sync.Mutex // the backdoor carries one RPC at a time
	rpc *backdoorRPC
}

// NewBackdoor is the real VM's guestinfo.
func NewBackdoor() *Backdoor { return &Backdoor{rpc: newBackdoorRPC()} }

// Get implements Client.
func (b *Backdoor) Get(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return guestInfoGet(b.rpc, key)
}

// Set implements Client.
func (b *Backdoor) Set(ctx context.Context, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return guestInfoSet(b.rpc, key, value)
}
