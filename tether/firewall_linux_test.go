package tether

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vice-engine/vice/tether/wire"
)

// inNamespace runs fn on a thread in ns.
func inNamespace(ns netns.NsHandle, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		host, err := netns.Get()
		if err != nil {
			ch <- err
			return
		}
		defer host.Close()
		if err := netns.Set(ns); err != nil {
			ch <- err
			return
		}
		err = fn()
		if netns.Set(host) == nil {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	return <-ch
}

// pairOfNamespaces makes two namespaces joined by a veth pair, guest0 (10.88.0.2/24) in the first and peer0
// (10.88.0.3/24) in the second; both go with the test.
func pairOfNamespaces(t *testing.T) (guest, peer netns.NsHandle) {
	t.Helper()
	mk := func() netns.NsHandle {
		ch := make(chan netns.NsHandle, 1)
		go func() {
			runtime.LockOSThread()
			host, err := netns.Get()
			if err != nil {
				ch <- netns.None()
				return
			}
			defer host.Close()
			ns, err := netns.New()
			if err != nil {
				ch <- netns.None()
				return
			}
			if netns.Set(host) == nil {
				runtime.UnlockOSThread()
			}
			ch <- ns
		}()
		ns := <-ch
		if !ns.IsOpen() {
			t.Skip("network namespaces need root")
		}
		t.Cleanup(func() { ns.Close() })
		return ns
	}
	guest, peer = mk(), mk()
	h, err := netlink.NewHandleAt(guest)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "guest0"}, PeerName: "peer0",
		PeerNamespace: netlink.NsFd(int(peer))}); err != nil {
		t.Fatal(err)
	}
	ph, err := netlink.NewHandleAt(peer)
	if err != nil {
		t.Fatal(err)
	}
	defer ph.Close()
	for _, side := range []struct {
		h          *netlink.Handle
		name, cidr string
	}{{h, "guest0", "10.88.0.2/24"}, {ph, "peer0", "10.88.0.3/24"}} {
		l, err := side.h.LinkByName(side.name)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := netlink.ParseAddr(side.cidr)
		if err := side.h.AddrAdd(l, a); err != nil {
			t.Fatal(err)
		}
		if err := side.h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
		lo, _ := side.h.LinkByName("lo")
		_ = side.h.LinkSetUp(lo)
	}
	return guest, peer
}

// listen accepts TCP connections on addr in ns until the test ends.
func listen(t *testing.T, ns netns.NsHandle, addr string) {
	t.Helper()
	var l net.Listener
	if err := inNamespace(ns, func() (err error) { l, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// connects says whether a TCP connection from ns to addr is made.
func connects(ns netns.NsHandle, addr string) bool {
	err := inNamespace(ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	return err == nil
}

// TestFirewall applies each trust level to a NIC and checks the traffic it lets through, both ways.
func TestFirewall(t *testing.T) {
	for _, c := range []struct {
		trust                 string
		in8000, in8001, outOK bool
	}{
		{wire.TrustOpen, true, true, true},
		{wire.TrustClosed, false, false, false},
		{wire.TrustOutbound, false, false, true},
		{wire.TrustPeers, true, true, true},
		{wire.TrustPublished, true, false, false},
	} {
		t.Run(c.trust, func(t *testing.T) {
			guest, peer := pairOfNamespaces(t)
			listen(t, guest, "10.88.0.2:8000")
			listen(t, guest, "10.88.0.2:8001")
			listen(t, peer, "10.88.0.3:9000")
			// The pair carries traffic once its links are up on both sides: wait for that before the rules.
			for deadline := time.Now().Add(10 * time.Second); !connects(peer, "10.88.0.2:8000"); time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the veth pair never carried a connection")
				}
			}
			nets := []wire.NetworkEndpoint{{Network: "public", MAC: "00:50:56:00:00:01", Address: "10.88.0.2/24",
				Firewall: c.trust, Published: []string{"8000/tcp"}}}
			err := applyFirewall(nets, map[string]string{"00:50:56:00:00:01": "guest0"}, nftables.WithNetNSFd(int(guest)))
			if err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string][2]bool{
				"in to a published port":    {connects(peer, "10.88.0.2:8000"), c.in8000},
				"in to an unpublished port": {connects(peer, "10.88.0.2:8001"), c.in8001},
				"out to a peer":             {connects(guest, "10.88.0.3:9000"), c.outOK},
			} {
				if got[0] != got[1] {
					t.Errorf("%s: connected %v, want %v", what, got[0], got[1])
				}
			}
		})
	}
}
