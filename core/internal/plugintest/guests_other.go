//go:build !linux

package plugintest

// killGuestsUnder has nothing to do where the emulator boots no guests.
func killGuestsUnder(string) []int { return nil }

// guestsUnder finds none where the emulator boots no guests.
func guestsUnder(string) []int { return nil }
