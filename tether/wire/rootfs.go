package wire

// At every boot the tether writes the container's identity into its root filesystem, and makes the mount
// points the image lacks. Like the files of Docker's init layer, these are no change of the container's own:
// its changes and its commits leave them out, and a deletion of one of the files is a deletion from the image.

// IsGuestFile reports whether p (absolute, clean) is a file the tether writes at boot.
func IsGuestFile(p string) bool {
	switch p {
	case "/etc/hostname", "/etc/hosts", "/etc/resolv.conf":
		return true
	}
	return false
}

// GuestFiles are the IsGuestFile files, in lexical order.
func GuestFiles() []string { return []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"} }

// IsGuestDir reports whether p (absolute, clean) is a directory the tether makes when the image lacks it.
func IsGuestDir(p string) bool {
	switch p {
	case "/dev", "/etc", "/proc", "/sys":
		return true
	}
	return false
}
