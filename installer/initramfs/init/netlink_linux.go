package init

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// linkUp sets the interface's IFF_UP flag.
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("flags of %s: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	return nil
}

// addAddress gives the interface ifindex the address ip/ones (RTM_NEWADDR), valid for lifetime (the kernel
// removes it then), or for ever if lifetime is 0. With replace, an address that is there already gets the
// new lifetime.
func addAddress(ifindex int, ip net.IP, mask net.IPMask, lifetime time.Duration, replace bool) error {
	msg := addressMessage(ifindex, ip, mask)
	bcast := make(net.IP, 4)
	for i := range bcast {
		bcast[i] = ip.To4()[i] | ^mask[i]
	}
	msg = appendAttr(msg, unix.IFA_LOCAL, ip.To4())
	msg = appendAttr(msg, unix.IFA_ADDRESS, ip.To4())
	msg = appendAttr(msg, unix.IFA_BROADCAST, bcast)
	if lifetime > 0 {
		secs := uint32(min(lifetime/time.Second, 0xfffffffe))
		ci := make([]byte, unix.SizeofIfaCacheinfo)
		binary.NativeEndian.PutUint32(ci[0:], secs) // preferred
		binary.NativeEndian.PutUint32(ci[4:], secs) // valid
		msg = appendAttr(msg, unix.IFA_CACHEINFO, ci)
	}
	flags := unix.NLM_F_CREATE | unix.NLM_F_EXCL
	if replace {
		flags = unix.NLM_F_CREATE | unix.NLM_F_REPLACE
	}
	return netlinkDo(unix.RTM_NEWADDR, flags, msg)
}

// delAddress removes the address ip/ones from the interface ifindex (RTM_DELADDR).
func delAddress(ifindex int, ip net.IP, mask net.IPMask) error {
	msg := appendAttr(addressMessage(ifindex, ip, mask), unix.IFA_LOCAL, ip.To4())
	return netlinkDo(unix.RTM_DELADDR, 0, msg)
}

func addressMessage(ifindex int, ip net.IP, mask net.IPMask) []byte {
	ones, _ := mask.Size()
	msg := make([]byte, unix.SizeofIfAddrmsg)
	msg[0] = unix.AF_INET
	msg[1] = byte(ones)
	binary.NativeEndian.PutUint32(msg[4:], uint32(ifindex))
	return msg
}

// addDefaultRoute routes everything through gw on the interface ifindex (RTM_NEWROUTE).
func addDefaultRoute(ifindex int, gw net.IP) error {
	msg := make([]byte, unix.SizeofRtMsg)
	msg[0] = unix.AF_INET
	msg[4] = unix.RT_TABLE_MAIN
	msg[5] = unix.RTPROT_DHCP
	msg[6] = unix.RT_SCOPE_UNIVERSE
	msg[7] = unix.RTN_UNICAST
	oif := make([]byte, 4)
	binary.NativeEndian.PutUint32(oif, uint32(ifindex))
	msg = appendAttr(msg, unix.RTA_GATEWAY, gw.To4())
	msg = appendAttr(msg, unix.RTA_OIF, oif)
	return netlinkDo(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, msg)
}

func appendAttr(b []byte, typ uint16, v []byte) []byte {
	l := unix.SizeofRtAttr + len(v)
	a := make([]byte, (l+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1))
	binary.NativeEndian.PutUint16(a[0:], uint16(l))
	binary.NativeEndian.PutUint16(a[2:], typ)
	copy(a[unix.SizeofRtAttr:], v)
	return append(b, a...)
}

// netlinkDo sends one request to the kernel's routing socket and waits for its acknowledgement.
func netlinkDo(typ uint16, flags int, body []byte) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	req := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	req = append(req, body...)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], uint16(unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags))
	binary.NativeEndian.PutUint32(req[8:], 1)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.NLMSG_ERROR || len(m.Data) < 4 {
			continue
		}
		if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
			return unix.Errno(-code)
		}
		return nil
	}
	return errors.New("netlink: no acknowledgement")
}
