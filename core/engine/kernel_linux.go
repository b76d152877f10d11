package engine

import "golang.org/x/sys/unix"

// kernelVersion is the release of the kernel the endpoint runs on.
func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
