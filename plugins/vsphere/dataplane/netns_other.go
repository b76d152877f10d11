//go:build !linux

package dataplane

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// Namespace is the process's own network namespace off Linux.
type Namespace struct{}

// OpenNamespace refuses a path off Linux.
func OpenNamespace(path string) (*Namespace, error) {
	if path != "" {
		return nil, errors.ErrUnsupported
	}
	return &Namespace{}, nil
}

func (n *Namespace) Close() error             { return nil }
func (n *Namespace) Fd() int                  { return -1 }
func (n *Namespace) Do(fn func() error) error { return fn() }
func (n *Namespace) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
func (n *Namespace) ListenTCP(addr string) (net.Listener, error) { return net.Listen("tcp4", addr) }
func (n *Namespace) ListenUDP(addr string) (net.PacketConn, error) {
	return net.ListenPacket("udp4", addr)
}

type leg struct{ name string }

func findLeg(*Namespace, string) (*leg, error) { return nil, errors.ErrUnsupported }
func (*leg) setAddresses([]netip.Prefix) error { return errors.ErrUnsupported }
func (*leg) close()                            {}

// Subnet is a bridge network as the forwarding policy sees it.
type Subnet struct {
	Prefix   netip.Prefix
	Internal bool
}

func (p *Plane) setPolicy([]Subnet) error { return errors.ErrUnsupported }
