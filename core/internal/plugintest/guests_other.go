//go:build !linux

package plugintest

// killGuestsUnder has nothing to do where the emulator boots no guests.
func killGuestsUnder(string) []int { return nil }
