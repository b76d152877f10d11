package init

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// DHCP (RFC 2131) as a client needs it: the BOOTP message with its options, carried in UDP in IPv4, which
// /init builds itself since the interface has no address to send from yet.

const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6

	optSubnetMask  = 1
	optRouter      = 3
	optDNS         = 6
	optHostName    = 12
	optDomainName  = 15
	optRequestedIP = 50
	optLeaseTime   = 51
	optMessageType = 53
	optServerID    = 54
	optParamList   = 55
	optRenewalTime = 58 // T1
	optRebindTime  = 59 // T2
	optEnd         = 255
	optPad         = 0

	bootRequest   = 1
	bootReply     = 2
	bootpHeader   = 236
	flagBroadcast = 0x8000

	dhcpServerPort = 67
	dhcpClientPort = 68
)

var magicCookie = []byte{99, 130, 83, 99}

// dhcpMessage is one BOOTP message and its DHCP options.
type dhcpMessage struct {
	op      byte
	xid     uint32
	flags   uint16
	ciaddr  net.IP
	yiaddr  net.IP
	chaddr  net.HardwareAddr
	options map[byte][]byte
	order   []byte // the options in the order they are written
}

func (m *dhcpMessage) setOption(code byte, v []byte) {
	if m.options == nil {
		m.options = map[byte][]byte{}
	}
	if _, ok := m.options[code]; !ok {
		m.order = append(m.order, code)
	}
	m.options[code] = v
}

func (m *dhcpMessage) messageType() byte {
	if v := m.options[optMessageType]; len(v) == 1 {
		return v[0]
	}
	return 0
}

func (m *dhcpMessage) marshal() []byte {
	b := make([]byte, bootpHeader, bootpHeader+64)
	b[0], b[1], b[2] = m.op, 1, 6 // Ethernet, 6-byte addresses
	binary.BigEndian.PutUint32(b[4:], m.xid)
	binary.BigEndian.PutUint16(b[10:], m.flags)
	copy(b[12:16], m.ciaddr.To4())
	copy(b[16:20], m.yiaddr.To4())
	copy(b[28:44], m.chaddr)
	b = append(b, magicCookie...)
	for _, code := range m.order {
		v := m.options[code]
		b = append(b, code, byte(len(v)))
		b = append(b, v...)
	}
	return append(b, optEnd)
}

func parseDHCP(b []byte) (*dhcpMessage, error) {
	if len(b) < bootpHeader+len(magicCookie) || string(b[bootpHeader:bootpHeader+4]) != string(magicCookie) {
		return nil, errors.New("not a DHCP message")
	}
	hlen := int(b[2])
	if hlen > 16 {
		return nil, errors.New("DHCP message: bad hardware address length")
	}
	m := &dhcpMessage{
		op: b[0], xid: binary.BigEndian.Uint32(b[4:]), flags: binary.BigEndian.Uint16(b[10:]),
		ciaddr: net.IP(append([]byte(nil), b[12:16]...)), yiaddr: net.IP(append([]byte(nil), b[16:20]...)),
		chaddr: net.HardwareAddr(append([]byte(nil), b[28:28+hlen]...)),
	}
	opts := b[bootpHeader+4:]
	for len(opts) > 0 {
		code := opts[0]
		if code == optEnd {
			break
		}
		if code == optPad {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
			return nil, errors.New("DHCP message: truncated option")
		}
		m.setOption(code, append([]byte(nil), opts[2:2+int(opts[1])]...))
		opts = opts[2+int(opts[1]):]
	}
	return m, nil
}

// clientMessage is a DISCOVER or REQUEST from the interface with address mac; the server answers to the
// broadcast address, since the client has no address yet.
func clientMessage(kind byte, xid uint32, mac net.HardwareAddr) *dhcpMessage {
	m := &dhcpMessage{op: bootRequest, xid: xid, flags: flagBroadcast, chaddr: mac}
	m.setOption(optMessageType, []byte{kind})
	m.setOption(optParamList, []byte{optSubnetMask, optRouter, optDNS, optDomainName, optHostName, optLeaseTime,
		optRenewalTime, optRebindTime})
	return m
}

// renewMessage is the REQUEST that extends the lease on ip (RENEWING, RFC 2131 4.3.2): ciaddr is the
// leased address and neither a requested address nor a server identifier is given; the server answers
// to ciaddr.
func renewMessage(xid uint32, mac net.HardwareAddr, ip net.IP) *dhcpMessage {
	m := clientMessage(dhcpRequest, xid, mac)
	m.flags = 0
	m.ciaddr = ip.To4()
	return m
}

// lease is what an ACK gives.
type lease struct {
	ip       net.IP
	mask     net.IPMask
	router   net.IP // nil without one
	dns      []net.IP
	domain   string
	hostname string
	server   net.IP
	duration time.Duration // 0: infinite (or no lease time given)
	t1, t2   time.Duration // when to renew and to rebind, from the start of the lease
}

// infiniteLease is option 51's value for a lease that never ends.
const infiniteLease = 0xffffffff

func (l lease) String() string {
	ones, _ := l.mask.Size()
	return fmt.Sprintf("%s/%d router %v dns %v for %v", l.ip, ones, l.router, l.dns, l.duration)
}

func leaseOf(m *dhcpMessage) (lease, error) {
	l := lease{ip: m.yiaddr.To4()}
	if l.ip == nil || l.ip.IsUnspecified() {
		return l, errors.New("DHCP: no address offered")
	}
	if v := m.options[optSubnetMask]; len(v) == 4 {
		l.mask = net.IPMask(v)
	} else {
		l.mask = l.ip.DefaultMask()
	}
	if v := m.options[optRouter]; len(v) >= 4 {
		l.router = net.IP(v[:4])
	}
	for v := m.options[optDNS]; len(v) >= 4; v = v[4:] {
		l.dns = append(l.dns, net.IP(v[:4]))
	}
	l.domain = strings.TrimRight(string(m.options[optDomainName]), "\x00")
	l.hostname = strings.TrimRight(string(m.options[optHostName]), "\x00")
	if v := m.options[optServerID]; len(v) == 4 {
		l.server = net.IP(v)
	}
	if v := m.options[optLeaseTime]; len(v) == 4 && binary.BigEndian.Uint32(v) != infiniteLease {
		l.duration = time.Duration(binary.BigEndian.Uint32(v)) * time.Second
	}
	// T1 and T2 default to 1/2 and 7/8 of the lease (RFC 2131 4.4.5); given ones are kept if in order.
	l.t1, l.t2 = l.duration/2, l.duration*7/8
	if v := m.options[optRenewalTime]; len(v) == 4 {
		if t := time.Duration(binary.BigEndian.Uint32(v)) * time.Second; t < l.duration {
			l.t1 = t
		}
	}
	if v := m.options[optRebindTime]; len(v) == 4 {
		if t := time.Duration(binary.BigEndian.Uint32(v)) * time.Second; t < l.duration {
			l.t2 = t
		}
	}
	if l.t1 > l.t2 {
		l.t1 = l.t2
	}
	return l, nil
}

// udpIPv4 wraps payload in UDP and IPv4 headers. The UDP checksum is left out (zero), which IPv4 allows.
func udpIPv4(src, dst net.IP, sport, dport uint16, payload []byte) []byte {
	const ihl, udpLen = 20, 8
	total := ihl + udpLen + len(payload)
	p := make([]byte, total)
	p[0] = 0x45 // IPv4, 5 words of header
	binary.BigEndian.PutUint16(p[2:], uint16(total))
	p[8] = 64 // TTL
	p[9] = 17 // UDP
	copy(p[12:16], src.To4())
	copy(p[16:20], dst.To4())
	binary.BigEndian.PutUint16(p[10:], ipChecksum(p[:ihl]))
	u := p[ihl:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen+len(payload)))
	copy(u[udpLen:], payload)
	return p
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// udpPayload returns the payload of an IPv4 UDP packet to port dport, and whether p is one.
func udpPayload(p []byte, dport uint16) ([]byte, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 17 {
		return nil, false
	}
	ihl := int(p[0]&0x0f) * 4
	if ihl < 20 || len(p) < ihl+8 {
		return nil, false
	}
	u := p[ihl:]
	if binary.BigEndian.Uint16(u[2:]) != dport {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(u[4:]))
	if n < 8 || n > len(u) {
		return nil, false
	}
	return u[8:n], true
}
