package init

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	nicWait     = 15 * time.Second
	dhcpTimeout = 45 * time.Second
)

// configureNetwork brings the loopback interface up, then the NICs one after another until one of them
// gets a DHCP lease, which gives the machine its address, default route, name servers and host name.
func configureNetwork() error {
	if err := linkUp("lo"); err != nil {
		return err
	}
	nics, err := waitNICs()
	if err != nil {
		return err
	}
	var errs []error
	for _, ifc := range nics {
		if err := linkUp(ifc.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), dhcpTimeout)
		start := time.Now()
		l, err := dhcp(ctx, &ifc)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := applyLease(ifc, l); err != nil {
			errs = append(errs, err)
			continue
		}
		if l.duration == 0 {
			logf("%s: %s", ifc.Name, l)
			return nil
		}
		pid, err := startRenewer(ifc, l, start)
		if err != nil {
			logf("%s: %s, not renewed: %v", ifc.Name, l, err)
			return nil
		}
		logf("%s: %s, renewed by pid %d", ifc.Name, l, pid)
		return nil
	}
	return errors.Join(errs...)
}

// waitNICs returns the Ethernet interfaces once at least one is there.
func waitNICs() ([]net.Interface, error) {
	deadline := time.Now().Add(nicWait)
	for {
		var out []net.Interface
		ifs, err := net.Interfaces()
		if err != nil {
			return nil, err
		}
		for _, ifc := range ifs {
			if ifc.Flags&net.FlagLoopback == 0 && len(ifc.HardwareAddr) == 6 {
				out = append(out, ifc)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no network interface")
		}
		time.Sleep(devicePoll)
	}
}

// applyLease configures the interface as the lease says. The address is given the lease's lifetime, so
// that the kernel takes it away when the lease ends if nothing renews it.
func applyLease(ifc net.Interface, l lease) error {
	if err := addAddress(ifc.Index, l.ip, l.mask, l.duration, true); err != nil {
		return fmt.Errorf("address %s on %s: %w", l.ip, ifc.Name, err)
	}
	if l.router != nil {
		if err := addDefaultRoute(ifc.Index, l.router); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("default route via %s: %w", l.router, err)
		}
	}
	if len(l.dns) > 0 {
		var b strings.Builder
		if l.domain != "" {
			b.WriteString("search " + l.domain + "\n")
		}
		for _, ip := range l.dns {
			b.WriteString("nameserver " + ip.String() + "\n")
		}
		if err := os.WriteFile("/etc/resolv.conf", []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if l.hostname != "" {
		_ = unix.Sethostname([]byte(l.hostname))
	}
	return nil
}
