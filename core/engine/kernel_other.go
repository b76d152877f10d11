//go:build !linux

package engine

// kernelVersion is unknown off Linux.
func kernelVersion() string { return "" }
