package tether

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/wire"
)

// setIdentity gives the container its hostname and name resolution. The files (/etc/hostname, /etc/hosts,
// /etc/resolv.conf) are written into the container's own root (its writable layer), as Docker's are visible
// inside the container.
func setIdentity(cfg *wire.ContainerConfig) error {
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	if cfg.Domainname != "" {
		if err := unix.Setdomainname([]byte(cfg.Domainname)); err != nil {
			return fmt.Errorf("setdomainname: %w", err)
		}
	}
	if err := os.MkdirAll("/etc", 0o755); err != nil {
		return err
	}
	// These writes are the guest's, not the container's (wire.ContainerConfig.GuestFiles): /etc keeps its
	// times, so that the container's changes show /etc only when the container itself changed it.
	var etc unix.Stat_t
	if err := unix.Stat("/etc", &etc); err != nil {
		return fmt.Errorf("stat /etc: %w", err)
	}
	for _, name := range cfg.GuestFiles() {
		var content string
		switch name {
		case "/etc/hostname":
			content = cfg.Hostname + "\n"
		case "/etc/hosts":
			content = hostsFile(cfg)
		case "/etc/resolv.conf":
			content, _ = resolvConf(cfg)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := unix.UtimesNano("/etc", []unix.Timespec{etc.Atim, etc.Mtim}); err != nil {
		return fmt.Errorf("keep the times of /etc: %w", err)
	}
	return nil
}

// hostsFile is Docker's /etc/hosts: the loopback names, the container's own name (on its first network's
// address, or 127.0.1.1 without one), then ExtraHosts ("name:ip").
func hostsFile(cfg *wire.ContainerConfig) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	if cfg.Hostname != "" {
		names := cfg.Hostname
		if cfg.Domainname != "" {
			names = cfg.Hostname + "." + cfg.Domainname + " " + cfg.Hostname
		}
		fmt.Fprintf(&b, "%s\t%s\n", ownAddress(cfg), names)
	}
	for _, h := range cfg.ExtraHosts {
		// The address may itself hold colons (IPv6), so only the first colon separates the name.
		name, ip, ok := strings.Cut(h, ":")
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	return b.String()
}

// ownAddress is the address the container's host name is on in /etc/hosts.
func ownAddress(cfg *wire.ContainerConfig) string {
	for _, n := range cfg.Networks {
		if ip, _, ok := strings.Cut(n.Address, "/"); ok && ip != "" {
			return ip
		}
	}
	return "127.0.1.1"
}

// resolvConf is the resolver configuration; ok is false when the config names no servers or search
// domains, and the image's own file is left alone.
func resolvConf(cfg *wire.ContainerConfig) (string, bool) {
	if len(cfg.DNS) == 0 && len(cfg.DNSSearch) == 0 && len(cfg.DNSOptions) == 0 {
		return "", false
	}
	var b strings.Builder
	for _, ns := range cfg.DNS {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(cfg.DNSSearch) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(cfg.DNSSearch, " "))
	}
	if len(cfg.DNSOptions) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(cfg.DNSOptions, " "))
	}
	return b.String(), true
}
