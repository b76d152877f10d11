package emulator

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"

	"github.com/vice-engine/vice/installer/vchwire"
)

// DefaultApplianceNet is where appliance VMs get their addresses: loopback addresses that Linux routes to
// lo without configuration, so each VCH endpoint on the host has its own 2375..2378 and they never collide
// with 127.0.0.1.
var DefaultApplianceNet = netip.MustParsePrefix("127.64.0.0/16")

// addrProbePorts are bound briefly before an address is handed out, to skip one that another emulator on
// the host (a second daemon, a test) gave to its own appliance.
var addrProbePorts = []int{vchwire.PortAttach, vchwire.PortAdmin}

// maxAddrProbes bounds the addresses probed for one allocation.
const maxAddrProbes = 64

// addrPool is the emulated network's "DHCP server" for appliance VMs: one address per VM, the same on
// every boot while the emulator runs, never two VMs on one address. Addresses are handed out round-robin,
// so one given back (the VM was destroyed) is the last to be given again. Other emulators on the host (a
// second daemon, tests running side by side) draw from the same addresses: each address given out is
// claimed host-wide for as long as this emulator holds it, and one that is in use is skipped.
type addrPool struct {
	prefix netip.Prefix

	mu     sync.Mutex
	byVM   map[string]netip.Addr
	used   map[netip.Addr]io.Closer // the address's host-wide claim
	next   netip.Addr
	closed bool
}

func newAddrPool(prefix netip.Prefix) (*addrPool, error) {
	prefix = prefix.Masked()
	if !prefix.Addr().Is4() || !prefix.Addr().IsLoopback() || prefix.Bits() > 30 {
		return nil, fmt.Errorf("appliance network %s: must be an IPv4 loopback prefix of at least 4 addresses", prefix)
	}
	return &addrPool{prefix: prefix, byVM: map[string]netip.Addr{}, used: map[netip.Addr]io.Closer{},
		next: prefix.Addr().Next().Next()}, nil
}

// get is vm's address, allocated on its first boot.
func (p *addrPool) get(vm string) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byVM[vm]; ok {
		return a, nil
	}
	if p.closed {
		return netip.Addr{}, errors.New("the emulator is closing")
	}
	var fallback netip.Addr
	var fallbackClaim io.Closer
	probes := 0
	for start, a := p.next, p.next; ; {
		if _, taken := p.used[a]; p.usable(a) && !taken {
			if c, ok := claim(a); ok {
				if probes >= maxAddrProbes || free(a) {
					if fallbackClaim != nil {
						fallbackClaim.Close()
					}
					return p.take(vm, a, c), nil
				}
				probes++
				if fallbackClaim == nil {
					fallback, fallbackClaim = a, c
				} else {
					c.Close()
				}
			}
		}
		if a = p.after(a); a == start {
			break
		}
	}
	// Every address is busy on the host (someone listens on 0.0.0.0 on a probed port): the claims decide.
	if fallbackClaim != nil {
		return p.take(vm, fallback, fallbackClaim), nil
	}
	return netip.Addr{}, errors.New("appliance network " + p.prefix.String() + " is exhausted")
}

func (p *addrPool) take(vm string, a netip.Addr, c io.Closer) netip.Addr {
	p.byVM[vm], p.used[a] = a, c
	p.next = p.after(a)
	return a
}

// release gives vm's address back, when the VM is gone.
func (p *addrPool) release(vm string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byVM[vm]; ok {
		delete(p.byVM, vm)
		p.used[a].Close()
		delete(p.used, a)
	}
}

// close gives every address back, when the emulator closes.
func (p *addrPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for a, c := range p.used {
		c.Close()
		delete(p.used, a)
	}
	clear(p.byVM)
}

// usable excludes the network and broadcast addresses, the first host (a "gateway") and 127.0.0.1.
func (p *addrPool) usable(a netip.Addr) bool {
	first := p.prefix.Addr()
	return p.prefix.Contains(a) && a != first && a != first.Next() && p.prefix.Contains(a.Next()) &&
		a != netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// after is the address following a, wrapping round the prefix.
func (p *addrPool) after(a netip.Addr) netip.Addr {
	if n := a.Next(); p.prefix.Contains(n) {
		return n
	}
	return p.prefix.Addr()
}

// claim takes a for this process host-wide: an abstract unix socket named after it, which the kernel
// frees when the process ends, so a crashed emulator leaves nothing behind. Off Linux there are no guests
// to claim addresses for.
func claim(a netip.Addr) (io.Closer, bool) {
	if runtime.GOOS != "linux" {
		return noClaim{}, true
	}
	l, err := net.Listen("unix", "@vice-emulator/appliance-addr/"+a.String())
	if err != nil {
		return nil, false
	}
	return l, true
}

type noClaim struct{}

func (noClaim) Close() error { return nil }

// free reports whether the appliance ports can be bound on a, that is, no other appliance has it.
func free(a netip.Addr) bool {
	for _, port := range addrProbePorts {
		l, err := net.Listen("tcp", net.JoinHostPort(a.String(), strconv.Itoa(port)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
