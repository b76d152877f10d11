package dataplane

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS answers, as Docker's embedded DNS gives them.
const (
	dnsTTL          = 600
	upstreamTimeout = 3 * time.Second
	maxDNSMessage   = 65535
	tcpIdle         = 10 * time.Second
)

// Resolver is what the DNS server asks of the VCH: the addresses of name as the container at src sees it,
// or, when the name is not one of the VCH's, the name servers to forward the query to (none: NXDOMAIN).
type Resolver interface {
	Resolve(src netip.Addr, name string) (addrs []netip.Addr, known bool, upstreams []string)
}

// dnsServer serves DNS over UDP and TCP on one gateway address.
type dnsServer struct {
	log      *slog.Logger
	resolver Resolver
	udp      net.PacketConn
	tcp      net.Listener
	wg       sync.WaitGroup
}

// serveDNS listens on addr:53 in ns and answers until close.
func serveDNS(ns *Namespace, addr netip.Addr, r Resolver, log *slog.Logger) (*dnsServer, error) {
	hp := netip.AddrPortFrom(addr, 53).String()
	udp, err := ns.ListenUDP(hp)
	if err != nil {
		return nil, err
	}
	tcp, err := ns.ListenTCP(hp)
	if err != nil {
		udp.Close()
		return nil, err
	}
	s := &dnsServer{log: log, resolver: r, udp: udp, tcp: tcp}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

func (s *dnsServer) close() {
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
}

func (s *dnsServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, maxDNSMessage)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		q := append([]byte(nil), buf[:n]...)
		src := addrOf(from)
		go func() {
			if resp := s.answer(src, q, "udp"); resp != nil {
				_, _ = s.udp.WriteTo(resp, from)
			}
		}()
	}
}

func (s *dnsServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		go s.serveConn(c)
	}
}

// serveConn answers the length-prefixed queries of one TCP connection.
func (s *dnsServer) serveConn(c net.Conn) {
	defer c.Close()
	src := addrOf(c.RemoteAddr())
	for {
		_ = c.SetReadDeadline(time.Now().Add(tcpIdle))
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := s.answer(src, q, "tcp")
		if resp == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// answer is the response to query q from src: the VCH's own answer for its names, the upstream's for the
// rest, NXDOMAIN when there is nobody to ask. A message that is not a query gets nothing.
func (s *dnsServer) answer(src netip.Addr, q []byte, network string) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil || h.Response {
		return nil
	}
	question, err := p.Question()
	if err != nil {
		return reply(h, nil, dnsmessage.RCodeFormatError, nil)
	}
	name := strings.ToLower(strings.TrimSuffix(question.Name.String(), "."))
	addrs, known, upstreams := s.resolver.Resolve(src, name)
	if known {
		return reply(h, &question, dnsmessage.RCodeSuccess, addrs)
	}
	if len(upstreams) == 0 {
		return reply(h, &question, dnsmessage.RCodeNameError, nil)
	}
	resp, err := forward(q, upstreams, network)
	if err != nil {
		s.log.Debug("DNS forward", "name", name, "upstreams", upstreams, "err", err)
		return reply(h, &question, dnsmessage.RCodeServerFailure, nil)
	}
	return resp
}

// reply builds the VCH's own answer: A records of addrs for an A question, none for any other type.
func reply(h dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, addrs []netip.Addr) []byte {
	rh := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: rcode, Authoritative: rcode == dnsmessage.RCodeSuccess}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), rh)
	b.EnableCompression()
	if q != nil {
		if b.StartQuestions() != nil || b.Question(*q) != nil {
			return nil
		}
		if rcode == dnsmessage.RCodeSuccess && q.Type == dnsmessage.TypeA && q.Class == dnsmessage.ClassINET {
			if b.StartAnswers() != nil {
				return nil
			}
			for _, a := range addrs {
				if !a.Is4() {
					continue
				}
				rr := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: dnsTTL}
				if b.AResource(rr, dnsmessage.AResource{A: a.As4()}) != nil {
					return nil
				}
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// forward asks the upstreams in turn, from the endpoint's own namespace (its way out), and returns the first
// answer as it came.
func forward(q []byte, upstreams []string, network string) ([]byte, error) {
	var errs []error
	for _, u := range upstreams {
		addr := u
		if _, _, err := net.SplitHostPort(u); err != nil {
			addr = net.JoinHostPort(u, "53")
		}
		resp, err := exchange(q, addr, network)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func exchange(q []byte, addr, network string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), upstreamTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(upstreamTimeout))
	if network == "tcp" {
		out := binary.BigEndian.AppendUint16(nil, uint16(len(q)))
		if _, err := c.Write(append(out, q...)); err != nil {
			return nil, err
		}
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return nil, err
		}
		resp := make([]byte, binary.BigEndian.Uint16(l[:]))
		_, err := io.ReadFull(c, resp)
		return resp, err
	}
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, maxDNSMessage)
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
