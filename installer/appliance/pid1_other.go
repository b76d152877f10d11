//go:build !linux

package appliance

import (
	"errors"
	"log/slog"
	"syscall"
)

// The appliance runs on Linux; elsewhere it builds (for its tests' and tools' sake) without PID 1's duties.

func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

func keepInherited() {}

func setupPID1(log *slog.Logger, _ bool) { log.Warn("not on Linux: nothing is mounted") }

func powerOff() error { return errors.New("power off: not on Linux") }
