package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/dns/dnsmessage"
)

// testNamespace makes a network namespace the test holds, with its loopback up; it goes with the test.
func testNamespace(t *testing.T) *os.File {
	t.Helper()
	ch := make(chan *os.File, 1)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		host, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer host.Close()
		ns, err := netns.New()
		if err != nil {
			errc <- err
			return
		}
		if err := netns.Set(host); err != nil {
			errc <- err
			return // the thread stays locked and dies with the goroutine
		}
		runtime.UnlockOSThread()
		ch <- os.NewFile(uintptr(ns), "netns")
	}()
	select {
	case f := <-ch:
		t.Cleanup(func() { f.Close() })
		h, err := netlink.NewHandleAt(netns.NsHandle(f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		lo, _ := h.LinkByName("lo")
		if err := h.LinkSetUp(lo); err != nil {
			t.Fatal(err)
		}
		return f
	case err := <-errc:
		t.Skipf("network namespaces need root: %v", err)
		return nil
	}
}

// fixedResolver answers names from a map and sends the rest to upstreams.
type fixedResolver struct {
	names     map[string][]netip.Addr
	upstreams []string
}

func (r fixedResolver) Resolve(src netip.Addr, name string) ([]netip.Addr, bool, []string) {
	if a, ok := r.names[name]; ok {
		return a, true, nil
	}
	return nil, false, r.upstreams
}

// lookup sends an A query for name to server from ns, and returns the answer's code and addresses.
func lookup(t *testing.T, ns *Namespace, server, name string) (dnsmessage.RCode, []netip.Addr) {
	t.Helper()
	c, err := ns.Dial(context.Background(), "udp4", server)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, RecursionDesired: true})
	_ = q.StartQuestions()
	_ = q.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	msg, _ := q.Finish()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	var p dnsmessage.Parser
	h, err := p.Start(buf[:n])
	if err != nil || h.ID != 7 {
		t.Fatalf("answer %v %+v", err, h)
	}
	_ = p.SkipAllQuestions()
	var out []netip.Addr
	for {
		rh, err := p.AnswerHeader()
		if err != nil {
			break
		}
		if rh.Type == dnsmessage.TypeA {
			a, _ := p.AResource()
			out = append(out, netip.AddrFrom4(a.A))
		} else {
			_ = p.SkipAnswer()
		}
	}
	return h.RCode, out
}

// upstreamDNS is a name server on the host's loopback that answers every A query with 192.0.2.99.
func upstreamDNS(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, _ := p.Question()
			if resp := reply(h, &q, dnsmessage.RCodeSuccess, []netip.Addr{netip.MustParseAddr("192.0.2.99")}); resp != nil {
				_, _ = c.WriteTo(resp, from)
			}
		}
	}()
	return c.LocalAddr().String()
}

// TestPlane wires a namespace standing for the endpoint's NICs to one standing for a container with a veth
// pair, and checks what the endpoint serves there: its gateway address, DNS (own names, forwarded ones,
// NXDOMAIN without name servers), and published TCP and UDP ports, refused when taken, gone when withdrawn.
func TestPlane(t *testing.T) {
	endpointNS, containerNS := testNamespace(t), testNamespace(t)
	h, err := netlink.NewHandleAt(netns.NsHandle(endpointNS.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mac, _ := net.ParseMAC("00:50:56:3f:00:01")
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "leg0", HardwareAddr: mac}, PeerName: "eth0",
		PeerNamespace: netlink.NsFd(int(containerNS.Fd()))}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	ch, err := netlink.NewHandleAt(netns.NsHandle(containerNS.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	eth0, err := ch.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("10.77.0.2/24")
	if err := ch.AddrAdd(eth0, addr); err != nil {
		t.Fatal(err)
	}
	if err := ch.LinkSetUp(eth0); err != nil {
		t.Fatal(err)
	}

	upstream := upstreamDNS(t)
	r := fixedResolver{names: map[string][]netip.Addr{"web": {netip.MustParseAddr("10.77.0.2")}}}
	p, err := Open(fmt.Sprintf("/proc/self/fd/%d", endpointNS.Fd()), mac.String(), &r, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetGateways([]netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}, []Subnet{{Prefix: netip.MustParsePrefix("10.77.0.0/24")}}); err != nil {
		t.Fatal(err)
	}
	container, err := OpenNamespace(fmt.Sprintf("/proc/self/fd/%d", containerNS.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer container.Close()

	if code, got := lookup(t, container, "10.77.0.1:53", "web"); code != dnsmessage.RCodeSuccess || len(got) != 1 || got[0].String() != "10.77.0.2" {
		t.Errorf("web: %v %v, want 10.77.0.2", code, got)
	}
	start := time.Now()
	if code, got := lookup(t, container, "10.77.0.1:53", "elsewhere.example"); code != dnsmessage.RCodeNameError || len(got) != 0 {
		t.Errorf("without name servers: %v %v, want NXDOMAIN", code, got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("NXDOMAIN took %v", d)
	}
	r.upstreams = []string{upstream}
	if code, got := lookup(t, container, "10.77.0.1:53", "elsewhere.example"); code != dnsmessage.RCodeSuccess || len(got) != 1 || got[0].String() != "192.0.2.99" {
		t.Errorf("forwarded: %v %v, want the upstream's 192.0.2.99", code, got)
	}

	// A TCP echo and a UDP echo in the container.
	ln, err := container.ListenTCP("10.77.0.2:8000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	uc, err := container.ListenUDP("10.77.0.2:8053")
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := uc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = uc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()

	lo := netip.MustParseAddr("127.0.0.1")
	tcp, err := p.Publish(Binding{Proto: "tcp", Host: netip.AddrPortFrom(lo, 0), Target: netip.MustParseAddrPort("10.77.0.2:8000")})
	if err != nil || tcp.Host.Port() == 0 {
		t.Fatalf("publish tcp: %v %v", tcp, err)
	}
	c, err := net.Dial("tcp4", tcp.Host.String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("hello"))
	_ = c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "hello" {
		t.Errorf("through the published TCP port: %q", got)
	}
	if _, err := p.Publish(Binding{Proto: "tcp", Host: tcp.Host, Target: netip.MustParseAddrPort("10.77.0.3:80")}); !errors.Is(err, ErrPortAllocated) {
		t.Errorf("a taken port: %v, want ErrPortAllocated", err)
	}

	udp, err := p.Publish(Binding{Proto: "udp", Host: netip.AddrPortFrom(lo, 0), Target: netip.MustParseAddrPort("10.77.0.2:8053")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := net.Dial("udp4", udp.Host.String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	_ = u.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = u.Write([]byte("ping"))
	buf := make([]byte, 100)
	n, err := u.Read(buf)
	if err != nil || string(buf[:n]) != "echo:ping" {
		t.Errorf("through the published UDP port: %q %v", buf[:n], err)
	}

	p.Unpublish(tcp)
	if c, err := net.Dial("tcp4", tcp.Host.String()); err == nil {
		c.Close()
		t.Error("the withdrawn port still accepts")
	}
	if len(p.Published()) != 1 {
		t.Errorf("published: %v, want the UDP port alone", p.Published())
	}
}

// link makes a veth pair: name in ns a (with addr, unless empty), peer in ns b (with peerAddr), both up.
func link(t *testing.T, a, b *os.File, name, addr, peer, peerAddr string, mac net.HardwareAddr) {
	t.Helper()
	h, err := netlink.NewHandleAt(netns.NsHandle(a.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: mac}, PeerName: peer,
		PeerNamespace: netlink.NsFd(int(b.Fd()))}); err != nil {
		t.Fatal(err)
	}
	hb, err := netlink.NewHandleAt(netns.NsHandle(b.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	for _, side := range []struct {
		h          *netlink.Handle
		name, addr string
	}{{h, name, addr}, {hb, peer, peerAddr}} {
		l, err := side.h.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		if side.addr != "" {
			a, _ := netlink.ParseAddr(side.addr)
			if err := side.h.AddrAdd(l, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := side.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

// enslave puts interface name of ns on a new or existing bridge br0 of ns.
func enslave(t *testing.T, ns *os.File, names ...string) {
	t.Helper()
	h, err := netlink.NewHandleAt(netns.NsHandle(ns.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	br, err := h.LinkByName("br0")
	if err != nil {
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}); err != nil {
			t.Fatal(err)
		}
		if br, err = h.LinkByName("br0"); err != nil {
			t.Fatal(err)
		}
		_ = h.LinkSetUp(br)
	}
	for _, n := range names {
		l, err := h.LinkByName(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetMaster(l, br); err != nil {
			t.Fatal(err)
		}
	}
}

func defaultRoute(t *testing.T, ns *os.File, gw string) {
	t.Helper()
	h, err := netlink.NewHandleAt(netns.NsHandle(ns.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.RouteAdd(&netlink.Route{Gw: net.ParseIP(gw)}); err != nil {
		t.Fatal(err)
	}
}

// TestForwardingPolicy: behind the endpoint, a bridge network reaches the public network masqueraded, an
// internal one does not, and two bridge networks do not reach each other; without an address on the
// public network nothing is forwarded at all.
func TestForwardingPolicy(t *testing.T) {
	endpoint, lan, public := testNamespace(t), testNamespace(t), testNamespace(t)
	a, b := testNamespace(t), testNamespace(t)
	mac, _ := net.ParseMAC("00:50:56:3f:00:02")
	link(t, endpoint, lan, "leg0", "", "p-leg", "", mac)
	link(t, a, lan, "eth0", "10.77.0.2/24", "p-a", "", nil)
	link(t, b, lan, "eth0", "10.78.0.2/24", "p-b", "", nil)
	enslave(t, lan, "p-leg", "p-a", "p-b")
	link(t, endpoint, public, "pub0", "192.0.2.1/24", "ext0", "192.0.2.2/24", nil)
	defaultRoute(t, a, "10.77.0.1")
	defaultRoute(t, b, "10.78.0.1")

	p, err := Open(fmt.Sprintf("/proc/self/fd/%d", endpoint.Fd()), mac.String(), fixedResolver{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	gws := []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24"), netip.MustParsePrefix("10.78.0.1/24")}
	subnets := []Subnet{{Prefix: netip.MustParsePrefix("10.77.0.0/24")}, {Prefix: netip.MustParsePrefix("10.78.0.0/24"), Internal: true}}
	if err := p.SetGateways(gws, subnets); err != nil {
		t.Fatal(err)
	}
	open := func(f *os.File) *Namespace {
		ns, err := OpenNamespace(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Close() })
		return ns
	}
	pub, nsA, nsB := open(public), open(a), open(b)
	seen := make(chan string, 4)
	for _, l := range []struct {
		ns   *Namespace
		addr string
	}{{pub, "192.0.2.2:9000"}, {nsB, "10.78.0.2:9000"}} {
		ln, err := l.ns.ListenTCP(l.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
				c.Close()
			}
		}()
	}
	dial := func(ns *Namespace, addr string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := ns.Dial(ctx, "tcp4", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(nsA, "192.0.2.2:9000"); err != nil {
		t.Errorf("the bridge network does not reach the public network: %v", err)
	} else if from := <-seen; from != "192.0.2.1" {
		t.Errorf("the public network saw %s, want the endpoint's address (masquerade)", from)
	}
	if err := dial(nsB, "192.0.2.2:9000"); err == nil {
		t.Error("the internal network reached the public network")
	}
	if err := dial(nsA, "10.78.0.2:9000"); err == nil {
		t.Error("one bridge network reached another through the endpoint")
	}
	fwd := func() string {
		var v []byte
		_ = p.ns.Do(func() (err error) { v, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward"); return err })
		return strings.TrimSpace(string(v))
	}
	if got := fwd(); got != "1" {
		t.Errorf("ip_forward %q with a public address", got)
	}

	// Without an address on the public network there is nowhere to forward to.
	h, _ := netlink.NewHandleAt(netns.NsHandle(endpoint.Fd()))
	defer h.Close()
	pub0, _ := h.LinkByName("pub0")
	addrs, _ := h.AddrList(pub0, netlink.FAMILY_V4)
	for _, ad := range addrs {
		_ = h.AddrDel(pub0, &ad)
	}
	if err := p.SetGateways(gws, subnets); err != nil {
		t.Fatal(err)
	}
	if got := fwd(); got != "0" {
		t.Errorf("ip_forward %q without a public address", got)
	}
}
