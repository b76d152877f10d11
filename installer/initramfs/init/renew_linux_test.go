package init

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const testLease = 6 * time.Second

func TestLeaseArgument(t *testing.T) {
	l := lease{ip: net.IPv4(10, 0, 2, 15).To4(), mask: net.CIDRMask(24, 32), server: net.IPv4(10, 0, 2, 2).To4(),
		duration: time.Hour, t1: 30 * time.Minute, t2: 52*time.Minute + 30*time.Second}
	back, age, err := decodeLease(encodeLease(l, 1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !back.ip.Equal(l.ip) || back.mask.String() != l.mask.String() || !back.server.Equal(l.server) ||
		back.duration != l.duration || back.t1 != l.t1 || back.t2 != l.t2 || age != 1500*time.Millisecond {
		t.Errorf("round trip: %+v age %v", back, age)
	}
	for _, bad := range []string{"", "10.0.2.15/24,-,1000,500", "10.0.2.15/24,-,1000,900,500,0", "x/24,-,1,1,1,0",
		"10.0.2.15/24,-,0,0,0,0"} {
		if _, _, err := decodeLease(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	ack := &dhcpMessage{op: bootReply, yiaddr: l.ip}
	ack.setOption(optLeaseTime, []byte{0xff, 0xff, 0xff, 0xff})
	if inf, err := leaseOf(ack); err != nil || inf.duration != 0 {
		t.Errorf("an infinite lease: %v %v", inf.duration, err)
	}
	ack.setOption(optLeaseTime, []byte{0, 0, 0, 100})
	ack.setOption(optRenewalTime, []byte{0, 0, 0, 20})
	if l, _ := leaseOf(ack); l.t1 != 20*time.Second || l.t2 != 87500*time.Millisecond {
		t.Errorf("T1 %v T2 %v", l.t1, l.t2)
	}
}

// TestLeaseRenewal obtains a short lease from a server of the test's own over a veth pair between two
// network namespaces, and keeps it past the end of the first lease by renewing it in a renewer process
// started as /init starts it.
func TestLeaseRenewal(t *testing.T) {
	n := newDHCPNet(t)
	srv := n.serve(t, false)
	n.runClient(t, true)
	// Two renewals, the second after the first lease would have ended.
	first := srv.waitFor(t, "a second renewal", func(ev []dhcpEvent) bool { return len(renewals(ev)) >= 2 })
	rs := renewals(first)
	for _, r := range rs {
		if !r.ciaddr.Equal(srv.addrs[0]) || r.kind != dhcpRequest {
			t.Errorf("renewal %+v, want a REQUEST from %v", r, srv.addrs[0])
		}
	}
	ack := firstOf(first, func(e dhcpEvent) bool { return e.kind == dhcpRequest && e.ciaddr.IsUnspecified() })
	if wait := time.Until(ack.at.Add(testLease + time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	// Still there, and still with a lifetime: the kernel takes it away if no renewal comes.
	if got := n.addresses(t); !strings.Contains(got, srv.addrs[0].String()+"/24") || !strings.Contains(got, "valid_lft") ||
		strings.Contains(got, "valid_lft forever") {
		t.Errorf("%s after the first lease ended: %q", n.ifc, got)
	}
	for _, e := range srv.events() {
		if e.kind == dhcpDiscover && e.at.After(ack.at) {
			t.Errorf("a DISCOVER after the lease was given: %+v", srv.events())
		}
	}
}

// TestLeaseRenewalNAK: a server that refuses the renewal makes the client give the address up and start
// over with DISCOVER, and take the new address it is offered.
func TestLeaseRenewalNAK(t *testing.T) {
	n := newDHCPNet(t)
	srv := n.serve(t, true)
	n.runClient(t, false)
	srv.waitFor(t, "a DISCOVER after the NAK", func(ev []dhcpEvent) bool {
		naked := false
		for _, e := range ev {
			naked = naked || (e.kind == dhcpRequest && !e.ciaddr.IsUnspecified())
			if naked && e.kind == dhcpDiscover {
				return true
			}
		}
		return false
	})
	deadline := time.Now().Add(60 * time.Second) // a safety net
	for {
		got := n.addresses(t)
		if strings.Contains(got, srv.addrs[1].String()+"/24") && !strings.Contains(got, srv.addrs[0].String()+"/") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after the NAK: %q, want %v only", n.ifc, got, srv.addrs[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dhcpNet is two network namespaces joined by a veth pair: the server's end (10.99.0.1/24) and the
// client's.
type dhcpNet struct {
	server, client string // namespace names
	ifc            string // the client's interface
}

func newDHCPNet(t *testing.T) *dhcpNet {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	id := fmt.Sprintf("vice-dhcp-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	n := &dhcpNet{server: id + "-s", client: id + "-c", ifc: "vc0"}
	for _, ns := range []string{n.server, n.client} {
		ip(t, "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
	}
	ip(t, "-n", n.server, "link", "add", "vs0", "type", "veth", "peer", "name", n.ifc, "netns", n.client)
	ip(t, "-n", n.server, "addr", "add", "10.99.0.1/24", "dev", "vs0")
	ip(t, "-n", n.server, "link", "set", "vs0", "up")
	return n
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (n *dhcpNet) addresses(t *testing.T) string {
	out, err := exec.Command("ip", "-n", n.client, "-4", "-o", "addr", "show", "dev", n.ifc).CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr: %v: %s", err, out)
	}
	return string(out)
}

// inNetns runs f on a thread of its own that has joined the namespace ns; the thread ends with f.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is in another namespace and ends with f
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err == nil {
			err = f()
		}
		errc <- err
	}()
	return <-errc
}

// runClient runs vice-init's DHCP in the client's namespace, and its renewal until the test ends: in a
// process of its own started as /init starts it (the test binary's TestMain makes it the renewer), or
// in this one.
func (n *dhcpNet) runClient(t *testing.T, process bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pid := make(chan int, 1)
	go func() {
		done <- inNetns(n.client, func() error {
			if err := linkUp(n.ifc); err != nil {
				return err
			}
			ifc, err := net.InterfaceByName(n.ifc)
			if err != nil {
				return err
			}
			l, start := rediscover(ctx, ifc)
			if ctx.Err() != nil {
				return nil
			}
			if process {
				// Started from this thread, the renewer is in the client's namespace too.
				p, err := startRenewer(*ifc, l, start)
				if err == nil {
					pid <- p
				}
				return err
			}
			renew(ctx, ifc, l, start)
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("client: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("the client did not stop")
		}
		select {
		case p := <-pid:
			_ = unix.Kill(p, unix.SIGKILL)
			var ws unix.WaitStatus
			if _, err := unix.Wait4(p, &ws, 0, nil); err != nil {
				t.Errorf("the renewer %d: %v", p, err)
			} else if !ws.Signaled() {
				t.Errorf("the renewer %d ended before the test did: %v", p, ws)
			}
		default:
		}
	})
}

// TestMain lets the test binary be the renewer, as vice-init is when it starts itself again.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == renewArg {
		renewerMain(os.Args[2:])
	}
	os.Exit(m.Run())
}

// dhcpEvent is a message the server received.
type dhcpEvent struct {
	at     time.Time
	kind   byte
	ciaddr net.IP
}

// testServer hands out addrs[0] first, then addrs[1], for testLease; with nak it refuses the first
// renewal.
type testServer struct {
	conn  net.PacketConn
	nak   bool
	addrs []net.IP
	mu    sync.Mutex
	ev    []dhcpEvent
	given int
	naked bool
	news  chan struct{}
}

func (n *dhcpNet) serve(t *testing.T, nak bool) *testServer {
	s := &testServer{nak: nak, addrs: []net.IP{net.IPv4(10, 99, 0, 2).To4(), net.IPv4(10, 99, 0, 3).To4()},
		news: make(chan struct{}, 1)}
	err := inNetns(n.server, func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = errors.Join(unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1),
					unix.BindToDevice(int(fd), "vs0"))
			})
			return errors.Join(err, serr)
		}}
		var err error
		s.conn, err = lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:67")
		return err
	})
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run()
	}()
	t.Cleanup(func() {
		s.conn.Close()
		<-done
	})
	return s
}

func (s *testServer) run() {
	buf := make([]byte, 64<<10)
	for {
		n, _, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		m, err := parseDHCP(buf[:n])
		if err != nil || m.op != bootRequest {
			continue
		}
		s.mu.Lock()
		s.ev = append(s.ev, dhcpEvent{at: time.Now(), kind: m.messageType(), ciaddr: m.ciaddr})
		addr := s.addrs[min(s.given, len(s.addrs)-1)]
		reply := &dhcpMessage{op: bootReply, xid: m.xid, flags: m.flags, ciaddr: m.ciaddr, chaddr: m.chaddr}
		to := net.IPv4bcast
		switch {
		case m.messageType() == dhcpDiscover:
			reply.yiaddr = addr
			reply.setOption(optMessageType, []byte{dhcpOffer})
		case m.messageType() == dhcpRequest && m.ciaddr.IsUnspecified(): // selecting
			reply.yiaddr = addr
			reply.setOption(optMessageType, []byte{dhcpAck})
			s.given++
		case m.messageType() == dhcpRequest && s.nak && !s.naked: // renewing or rebinding, refused
			reply.ciaddr = nil
			reply.setOption(optMessageType, []byte{dhcpNak})
			s.naked = true
		case m.messageType() == dhcpRequest:
			reply.yiaddr = m.ciaddr
			reply.setOption(optMessageType, []byte{dhcpAck})
			to = m.ciaddr
		default:
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		reply.setOption(optServerID, net.IPv4(10, 99, 0, 1).To4())
		if reply.messageType() != dhcpNak {
			secs := make([]byte, 4)
			binary.BigEndian.PutUint32(secs, uint32(testLease/time.Second))
			reply.setOption(optLeaseTime, secs)
			reply.setOption(optSubnetMask, []byte{255, 255, 255, 0})
		}
		_, _ = s.conn.WriteTo(reply.marshal(), &net.UDPAddr{IP: to, Port: dhcpClientPort})
		select {
		case s.news <- struct{}{}:
		default:
		}
	}
}

func (s *testServer) events() []dhcpEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dhcpEvent(nil), s.ev...)
}

// waitFor waits until the messages received satisfy ok, and returns them; a generous safety net fails it.
func (s *testServer) waitFor(t *testing.T, what string, ok func([]dhcpEvent) bool) []dhcpEvent {
	t.Helper()
	limit := time.After(90 * time.Second)
	for {
		if ev := s.events(); ok(ev) {
			return ev
		}
		select {
		case <-s.news:
		case <-limit:
			t.Fatalf("no %s; the server saw %+v", what, s.events())
		}
	}
}

func renewals(ev []dhcpEvent) []dhcpEvent {
	var out []dhcpEvent
	for _, e := range ev {
		if !e.ciaddr.IsUnspecified() {
			out = append(out, e)
		}
	}
	return out
}

func firstOf(ev []dhcpEvent, f func(dhcpEvent) bool) dhcpEvent {
	for _, e := range ev {
		if f(e) {
			return e
		}
	}
	return dhcpEvent{}
}
