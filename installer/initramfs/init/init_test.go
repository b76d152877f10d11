package init

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

func TestKernelArg(t *testing.T) {
	cmdline := "BOOT_IMAGE=/boot/vmlinuz console=ttyS2 quiet vice.boot=tether\n"
	if v, ok := kernelArg(cmdline, BootArg); !ok || v != BootTether {
		t.Errorf("%s = %q, %v", BootArg, v, ok)
	}
	if _, ok := kernelArg(cmdline, "vice"); ok {
		t.Error("a prefix matched")
	}
	if _, ok := kernelArg(cmdline, "quiet"); ok {
		t.Error("a flag without a value matched")
	}
}

func TestDiskOrder(t *testing.T) {
	var ds []disk
	for _, d := range []struct{ name, addr string }{
		{"sdc", "2:0:1:0"}, {"sda", "2:0:10:0"}, {"sdb", "0:0:0:0"}, {"sdd", "2:0:0:0"},
	} {
		a, ok := parseSCSIAddress(d.addr)
		if !ok {
			t.Fatalf("address %q", d.addr)
		}
		ds = append(ds, disk{name: d.name, addr: a, scsi: true})
	}
	for _, n := range []string{"vdaa", "vdb", "vda"} {
		ds = append(ds, disk{name: n, addr: [4]int{virtioIndex(n)}})
	}
	sortDisks(ds)
	var got []string
	for _, d := range ds {
		got = append(got, d.name)
	}
	if want := "sdb sdd sdc sda vda vdb vdaa"; strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{"", "1:2:3", "a:0:0:0", "0:0:-1:0"} {
		if _, ok := parseSCSIAddress(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestDHCPMessages(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	req := clientMessage(dhcpRequest, 0xdeadbeef, mac)
	req.setOption(optRequestedIP, net.IPv4(10, 0, 2, 15).To4())
	pkt := udpIPv4(net.IPv4zero, net.IPv4bcast, dhcpClientPort, dhcpServerPort, req.marshal())
	if ipChecksum(pkt[:20]) != 0 {
		t.Error("the IPv4 header checksum does not verify")
	}
	if _, ok := udpPayload(pkt, dhcpClientPort); ok {
		t.Error("a packet to the server read as one to the client")
	}
	payload, ok := udpPayload(pkt, dhcpServerPort)
	if !ok {
		t.Fatal("the request is not a UDP packet to port 67")
	}
	back, err := parseDHCP(payload)
	if err != nil {
		t.Fatal(err)
	}
	if back.op != bootRequest || back.xid != 0xdeadbeef || back.flags != flagBroadcast ||
		!bytes.Equal(back.chaddr, mac) || back.messageType() != dhcpRequest ||
		!net.IP(back.options[optRequestedIP]).Equal(net.IPv4(10, 0, 2, 15)) {
		t.Errorf("round trip: %+v", back)
	}

	// A server's ACK, as QEMU's user network gives one.
	ack := &dhcpMessage{op: bootReply, xid: 0xdeadbeef, chaddr: mac, yiaddr: net.IPv4(10, 0, 2, 15)}
	ack.setOption(optMessageType, []byte{dhcpAck})
	ack.setOption(optSubnetMask, []byte{255, 255, 255, 0})
	ack.setOption(optRouter, []byte{10, 0, 2, 2})
	ack.setOption(optDNS, []byte{10, 0, 2, 3, 8, 8, 8, 8})
	ack.setOption(optDomainName, []byte("example.test"))
	ack.setOption(optLeaseTime, []byte{0, 1, 0x51, 0x80})
	ack.setOption(optServerID, []byte{10, 0, 2, 2})
	m, err := parseDHCP(ack.marshal())
	if err != nil {
		t.Fatal(err)
	}
	l, err := leaseOf(m)
	if err != nil {
		t.Fatal(err)
	}
	ones, _ := l.mask.Size()
	if !l.ip.Equal(net.IPv4(10, 0, 2, 15)) || ones != 24 || !l.router.Equal(net.IPv4(10, 0, 2, 2)) ||
		len(l.dns) != 2 || !l.dns[1].Equal(net.IPv4(8, 8, 8, 8)) || l.domain != "example.test" ||
		l.duration != 24*time.Hour || !l.server.Equal(net.IPv4(10, 0, 2, 2)) {
		t.Errorf("lease %s %+v", l, l)
	}
	if _, err := parseDHCP(payload[:100]); err == nil {
		t.Error("a truncated message parsed")
	}
	if _, err := leaseOf(&dhcpMessage{yiaddr: net.IPv4zero}); err == nil {
		t.Error("a lease without an address")
	}
}

func TestRootDisk(t *testing.T) {
	d := func(name, addr string, pvscsi bool) disk {
		a, ok := parseSCSIAddress(addr)
		if !ok {
			t.Fatalf("address %q", addr)
		}
		return disk{name: name, addr: a, scsi: true, pvscsi: pvscsi}
	}
	for _, c := range []struct {
		disks []disk
		want  string
	}{
		// The root at unit 0 of the first paravirtual controller, whatever comes before it or is on others.
		{[]disk{d("sda", "0:0:0:0", false), d("sdb", "2:0:0:0", true), d("sdc", "2:0:1:0", true), d("sdd", "3:0:0:0", true)}, "sdb"},
		// A volume at unit 1 is never the root, even alone.
		{[]disk{d("sda", "2:0:1:0", true)}, ""},
		{[]disk{d("sda", "0:0:0:0", false)}, ""},
	} {
		sortDisks(c.disks)
		got, ok := rootDisk(c.disks)
		if ok != (c.want != "") || got.name != c.want {
			t.Errorf("%v: root %q (%v), want %q", c.disks, got.name, ok, c.want)
		}
	}
}
