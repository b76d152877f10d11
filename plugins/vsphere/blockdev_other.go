//go:build !linux

package vsphere

import "context"

// findBlockDevice needs Linux: the endpoint VM runs it.
func findBlockDevice(context.Context, string, int32, int32) (string, error) {
	return "", errNeedsLinux
}

func releaseBlockDevice(string) {}

func waitDeviceGone(context.Context, string, string) bool { return true }
