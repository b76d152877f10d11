package appliance

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
)

// addressPoll is how often a VM's interfaces are looked at until one has an address.
const addressPoll = time.Second

// emulatedAddress is the address the hypervisor emulator gave the appliance (vchwire.GuestIPEnv).
func emulatedAddress(context.Context) (string, error) {
	ip := net.ParseIP(os.Getenv(vchwire.GuestIPEnv))
	if ip == nil {
		return "", errors.New(vchwire.GuestIPEnv + " does not hold an address")
	}
	return ip.String(), nil
}

// vmAddress waits for the first IPv4 address of an interface that is up and not loopback: the VM's
// network (DHCP or static) is configured by its boot, not by the init.
func vmAddress(ctx context.Context) (string, error) {
	t := time.NewTicker(addressPoll)
	defer t.Stop()
	for {
		if ip := firstIPv4(); ip != "" {
			return ip, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

func firstIPv4() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip4 := n.IP.To4(); ip4 != nil && !ip4.IsLoopback() && !ip4.IsLinkLocalUnicast() {
					return ip4.String()
				}
			}
		}
	}
	return ""
}
