package init

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// dhcpRetries are the waits for an answer before sending again (RFC 2131's exponential back-off).
var dhcpRetries = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// packetConn sends and receives IPv4 packets on one interface, below IP: the interface has no address yet.
type packetConn struct {
	fd      int
	ifindex int
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openPacketConn(ifc *net.Interface) (*packetConn, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifc.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("packet socket on %s: %w", ifc.Name, err)
	}
	return &packetConn{fd: fd, ifindex: ifc.Index}, nil
}

func (c *packetConn) close() { unix.Close(c.fd) }

// broadcast sends the IPv4 packet p to every station of the link.
func (c *packetConn) broadcast(p []byte) error {
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: c.ifindex, Halen: 6}
	copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	return unix.Sendto(c.fd, p, 0, to)
}

// receive waits until deadline for a packet; nil without one.
func (c *packetConn) receive(buf []byte, deadline time.Time) ([]byte, error) {
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			return nil, err
		}
		return buf[:m], nil
	}
}

// dhcp obtains a lease for ifc: DISCOVER, OFFER, REQUEST, ACK.
func dhcp(ctx context.Context, ifc *net.Interface) (lease, error) {
	c, err := openPacketConn(ifc)
	if err != nil {
		return lease{}, err
	}
	defer c.close()
	var x [4]byte
	_, _ = rand.Read(x[:])
	xid := binary.BigEndian.Uint32(x[:])

	offer, err := c.exchange(ctx, clientMessage(dhcpDiscover, xid, ifc.HardwareAddr), dhcpOffer)
	if err != nil {
		return lease{}, fmt.Errorf("DHCP discover on %s: %w", ifc.Name, err)
	}
	req := clientMessage(dhcpRequest, xid, ifc.HardwareAddr)
	req.setOption(optRequestedIP, offer.yiaddr.To4())
	if id, ok := offer.options[optServerID]; ok {
		req.setOption(optServerID, id)
	}
	ack, err := c.exchange(ctx, req, dhcpAck)
	if err != nil {
		return lease{}, fmt.Errorf("DHCP request on %s: %w", ifc.Name, err)
	}
	return leaseOf(ack)
}

// exchange broadcasts msg until a reply of kind to it arrives; a NAK ends it.
func (c *packetConn) exchange(ctx context.Context, msg *dhcpMessage, kind byte) (*dhcpMessage, error) {
	pkt := udpIPv4(net.IPv4zero, net.IPv4bcast, dhcpClientPort, dhcpServerPort, msg.marshal())
	buf := make([]byte, 64<<10)
	for _, wait := range dhcpRetries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := c.broadcast(pkt); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(wait)
		for {
			p, err := c.receive(buf, deadline)
			if err != nil {
				return nil, err
			}
			if p == nil {
				break
			}
			payload, ok := udpPayload(p, dhcpClientPort)
			if !ok {
				continue
			}
			reply, err := parseDHCP(payload)
			if err != nil || reply.op != bootReply || reply.xid != msg.xid {
				continue
			}
			switch reply.messageType() {
			case kind:
				return reply, nil
			case dhcpNak:
				return nil, errors.New("the server refused (NAK)")
			}
		}
	}
	return nil, errors.New("no answer")
}
