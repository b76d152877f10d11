package tether

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vice-engine/vice/tether/wire"
)

// readConfig reads the ContainerConfig the endpoint left in guestinfo.
func readConfig(ctx context.Context, p Platform) (*wire.ContainerConfig, error) {
	v, found, err := p.GuestInfo(ctx, wire.KeyConfig)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("no container config in guestinfo %s", wire.KeyConfig)
	}
	var cfg wire.ContainerConfig
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return nil, fmt.Errorf("guestinfo %s: %w", wire.KeyConfig, err)
	}
	return &cfg, nil
}

// writeStatus records the process's state where the VCH reads it.
func writeStatus(ctx context.Context, p Platform, st wire.GuestStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return p.SetGuestInfo(ctx, wire.KeyStatus, string(b))
}
