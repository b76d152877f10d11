package init

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Lease renewal (RFC 2131 4.4.5). /init execs the appliance's init as PID 1, so the lease's upkeep is left
// to a process of its own: /init starts itself again (/proc/self/exe) with renewArg, the interface and the
// lease, before it execs; the child survives the exec, and the PID 1 that follows reaps it should it end.
// At T1 it asks the server that gave the lease to extend it (RENEWING, unicast), from T2 any server
// (REBINDING, broadcast); an ACK extends the address's lifetime; a NAK or the lease's end removes the
// address and starts over with DISCOVER.

// renewArg is the first argument of /init when it runs as the renewer.
const renewArg = "dhcp-renew"

// renewRetransmit is the shortest wait for an answer before a renewal is sent again (RFC 2131 4.4.5: half
// the time left until T2, or until the lease ends, down to a minimum of 60 seconds).
const renewRetransmit = 60 * time.Second

// rediscoverPause is the wait between DISCOVERs that got no lease.
const rediscoverPause = 10 * time.Second

// startRenewer starts the renewer for the lease l on ifc, obtained at start, and returns its pid.
func startRenewer(ifc net.Interface, l lease, start time.Time) (int, error) {
	args := []string{"vice-init", renewArg, ifc.Name, encodeLease(l, time.Since(start))}
	p, err := os.StartProcess("/proc/self/exe", args, &os.ProcAttr{
		Env:   guestEnv,
		Files: []*os.File{nil, os.Stderr, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		return 0, fmt.Errorf("start the lease renewer: %w", err)
	}
	pid := p.Pid
	return pid, p.Release()
}

// renewerMain is the renewer's life: args are the interface's name and the lease.
func renewerMain(args []string) {
	if len(args) != 2 {
		logf("%s: want an interface and a lease, got %q", renewArg, args)
		os.Exit(2)
	}
	ifc, err := net.InterfaceByName(args[0])
	if err != nil {
		logf("%s: %v", renewArg, err)
		os.Exit(1)
	}
	l, age, err := decodeLease(args[1])
	if err != nil {
		logf("%s: %v", renewArg, err)
		os.Exit(2)
	}
	renew(context.Background(), ifc, l, time.Now().Add(-age))
	os.Exit(0)
}

// encodeLease writes what the renewer needs of a lease obtained age ago, as one argument.
func encodeLease(l lease, age time.Duration) string {
	ones, _ := l.mask.Size()
	server := "-"
	if l.server != nil {
		server = l.server.String()
	}
	return fmt.Sprintf("%s/%d,%s,%d,%d,%d,%d", l.ip, ones, server,
		l.duration.Milliseconds(), l.t1.Milliseconds(), l.t2.Milliseconds(), age.Milliseconds())
}

func decodeLease(s string) (lease, time.Duration, error) {
	f := strings.Split(s, ",")
	if len(f) != 6 {
		return lease{}, 0, fmt.Errorf("lease %q: want 6 fields", s)
	}
	ip, ipnet, err := net.ParseCIDR(f[0])
	if err != nil || ip.To4() == nil {
		return lease{}, 0, fmt.Errorf("lease %q: address %q", s, f[0])
	}
	l := lease{ip: ip.To4(), mask: ipnet.Mask}
	if f[1] != "-" {
		if l.server = net.ParseIP(f[1]).To4(); l.server == nil {
			return lease{}, 0, fmt.Errorf("lease %q: server %q", s, f[1])
		}
	}
	var ms [4]int64
	for i := range ms {
		if ms[i], err = strconv.ParseInt(f[2+i], 10, 64); err != nil || ms[i] < 0 {
			return lease{}, 0, fmt.Errorf("lease %q: %q", s, f[2+i])
		}
	}
	l.duration, l.t1, l.t2 = time.Duration(ms[0])*time.Millisecond, time.Duration(ms[1])*time.Millisecond,
		time.Duration(ms[2])*time.Millisecond
	if l.duration == 0 || l.t1 > l.t2 || l.t2 > l.duration {
		return lease{}, 0, fmt.Errorf("lease %q: times out of order", s)
	}
	return l, time.Duration(ms[3]) * time.Millisecond, nil
}

var errNAK = errors.New("the server refused (NAK)")

// renew keeps a lease on ifc until ctx ends or a lease without end is given; l was obtained at start and
// its address is on the interface.
func renew(ctx context.Context, ifc *net.Interface, l lease, start time.Time) {
	for l.duration > 0 {
		nl, nstart, err := extend(ctx, ifc, l, start)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			// The address stays; its lifetime is the new lease's (for ever if that has no end).
			if err := addAddress(ifc.Index, l.ip, l.mask, nl.duration, true); err != nil {
				logf("%s: extend the address %s: %v", ifc.Name, l.ip, err)
			}
			l.duration, l.t1, l.t2, start = nl.duration, nl.t1, nl.t2, nstart
			if nl.server != nil {
				l.server = nl.server
			}
			continue
		}
		logf("%s: lease on %s lost (%v), discovering again", ifc.Name, l.ip, err)
		if err := delAddress(ifc.Index, l.ip, l.mask); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			logf("%s: remove %s: %v", ifc.Name, l.ip, err)
		}
		if l, start = rediscover(ctx, ifc); ctx.Err() != nil {
			return
		}
	}
}

// rediscover obtains a new lease for ifc and configures the interface with it, trying until ctx ends.
func rediscover(ctx context.Context, ifc *net.Interface) (lease, time.Time) {
	for failed := false; ; failed = true {
		dctx, cancel := context.WithTimeout(ctx, dhcpTimeout)
		start := time.Now()
		l, err := dhcp(dctx, ifc)
		cancel()
		if err == nil {
			err = applyLease(*ifc, l)
		}
		if err == nil {
			logf("%s: %s", ifc.Name, l)
			return l, start
		}
		if ctx.Err() != nil {
			return lease{}, time.Time{}
		}
		if !failed {
			logf("%s: %v (trying again)", ifc.Name, err)
		}
		if !sleepCtx(ctx, rediscoverPause) {
			return lease{}, time.Time{}
		}
	}
}

// extend waits until T1 and asks for the lease on l.ip to be extended, the server that gave it until T2,
// any server until the lease ends. It returns the new lease and when it began (when its REQUEST went).
func extend(ctx context.Context, ifc *net.Interface, l lease, start time.Time) (lease, time.Time, error) {
	if !sleepCtx(ctx, time.Until(start.Add(l.t1))) {
		return lease{}, time.Time{}, ctx.Err()
	}
	conn, err := listenDHCPClient(ctx, ifc)
	if err != nil {
		return lease{}, time.Time{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	phases := []struct {
		to    net.IP
		until time.Time
	}{
		{l.server, start.Add(l.t2)},
		{net.IPv4bcast, start.Add(l.duration)},
	}
	buf := make([]byte, 64<<10)
	var lastErr error
	for _, ph := range phases {
		if ph.to == nil {
			continue
		}
		for left := time.Until(ph.until); left > 0; left = time.Until(ph.until) {
			var x [4]byte
			_, _ = rand.Read(x[:])
			req := renewMessage(binary.BigEndian.Uint32(x[:]), ifc.HardwareAddr, l.ip)
			sent := time.Now()
			if _, err := conn.WriteTo(req.marshal(), &net.UDPAddr{IP: ph.to, Port: dhcpServerPort}); err != nil {
				if ctx.Err() != nil {
					return lease{}, time.Time{}, ctx.Err()
				}
				if lastErr == nil || lastErr.Error() != err.Error() {
					logf("%s: renew the lease on %s: %v", ifc.Name, l.ip, err)
				}
				lastErr = err
			}
			wait := min(max(left/2, renewRetransmit), left)
			ack, err := awaitReply(conn, buf, req, sent.Add(wait))
			if ctx.Err() != nil {
				return lease{}, time.Time{}, ctx.Err()
			}
			if err != nil {
				return lease{}, time.Time{}, err
			}
			if ack != nil {
				nl, err := leaseOf(ack)
				if err != nil || !nl.ip.Equal(l.ip) {
					return lease{}, time.Time{}, fmt.Errorf("an ACK for another address (%v)", ack.yiaddr)
				}
				return nl, sent, nil
			}
		}
	}
	return lease{}, time.Time{}, errors.New("the lease ended")
}

// awaitReply reads until deadline for the answer to req: the ACK, nil without one, or errNAK.
func awaitReply(conn net.PacketConn, buf []byte, req *dhcpMessage, deadline time.Time) (*dhcpMessage, error) {
	if err := conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	for {
		n, _, err := conn.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		m, err := parseDHCP(buf[:n])
		if err != nil || m.op != bootReply || m.xid != req.xid || string(m.chaddr) != string(req.chaddr) {
			continue
		}
		switch m.messageType() {
		case dhcpAck:
			return m, nil
		case dhcpNak:
			return nil, errNAK
		}
	}
}

// listenDHCPClient opens UDP port 68 on ifc, for REQUESTs from the leased address and the answers to them,
// unicast or broadcast.
func listenDHCPClient(ctx context.Context, ifc *net.Interface) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = errors.Join(
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1),
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1),
				unix.BindToDevice(int(fd), ifc.Name))
		})
		return errors.Join(err, serr)
	}}
	conn, err := lc.ListenPacket(ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", dhcpClientPort))
	if err != nil {
		return nil, fmt.Errorf("DHCP client port on %s: %w", ifc.Name, err)
	}
	return conn, nil
}

// sleepCtx waits for d, or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
