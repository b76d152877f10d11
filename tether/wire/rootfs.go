package wire

// At every boot the tether writes the container's identity into its root filesystem, and makes the mount
// points the image lacks. Like the files of Docker's init layer, these are no change of the container's own:
// its changes and its commits leave them out, and a deletion of one of the files is a change.

// GuestFiles are the files the tether writes into the container's root at each boot of this config, in
// lexical order: /etc/hostname when it has a hostname, /etc/hosts, and /etc/resolv.conf when it names DNS
// servers, search domains or options.
func (c *ContainerConfig) GuestFiles() []string {
	var out []string
	if c.Hostname != "" {
		out = append(out, "/etc/hostname")
	}
	out = append(out, "/etc/hosts")
	if len(c.DNS) > 0 || len(c.DNSSearch) > 0 || len(c.DNSOptions) > 0 {
		out = append(out, "/etc/resolv.conf")
	}
	return out
}

// IsGuestDir reports whether p (absolute, clean) is a directory the tether makes when the image lacks it.
func IsGuestDir(p string) bool {
	switch p {
	case "/dev", "/etc", "/proc", "/sys":
		return true
	}
	return false
}
