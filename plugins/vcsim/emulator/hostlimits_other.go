//go:build !linux

package emulator

import "log/slog"

// raiseInotifyInstances has nothing to do where guests cannot run.
func raiseInotifyInstances(*slog.Logger) {}
