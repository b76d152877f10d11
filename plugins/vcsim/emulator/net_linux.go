package emulator

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// bridgeName is each port group's bridge, in the port group's own namespace.
const bridgeName = "br0"

// netEmu is the emulated network: the port groups' namespaces, made on first use, removed by close.
type netEmu struct {
	seq atomic.Uint64 // names the port groups' ends of veths

	mu     sync.Mutex
	pgs    map[string]*portGroup
	closed bool

	// Network namespaces made ahead (net_spares_linux.go). Filled from the first boot on, emptied by close.
	spares    chan spare
	usual     atomic.Pointer[string] // the port group the latest boot's first vNIC joined
	wantSpare chan struct{}          // wakes the filler
	stop      chan struct{}          // ends it
	filler    sync.WaitGroup
	fillOnce  sync.Once
}

func newNetEmu() *netEmu {
	return &netEmu{pgs: map[string]*portGroup{}, spares: make(chan spare, spareNamespaces),
		wantSpare: make(chan struct{}, 1), stop: make(chan struct{})}
}

// portGroup is one port group: a bridge alone in a namespace.
type portGroup struct {
	name   string
	ns     *os.File
	h      *netlink.Handle
	bridge int // the bridge's interface index
}

// newNamespace makes a network namespace the caller holds by the returned file; closing it (and ending
// every process in it) removes the namespace and its interfaces. Its loopback interface is up.
func newNamespace() (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		host, err := netns.Get()
		if err != nil {
			ch <- result{err: fmt.Errorf("the emulator's network namespace: %w", err)}
			runtime.UnlockOSThread()
			return
		}
		defer host.Close()
		ns, err := netns.New() // unshares this thread into the new namespace
		if err != nil {
			ch <- result{err: fmt.Errorf("new network namespace: %w", err)}
			runtime.UnlockOSThread()
			return
		}
		f := os.NewFile(uintptr(ns), "netns")
		if err := netns.Set(host); err != nil {
			// The thread stays locked, so the runtime ends it rather than reuse it in the wrong namespace.
			f.Close()
			ch <- result{err: fmt.Errorf("back to the emulator's network namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{f: f}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(r.f.Fd()))
	if err != nil {
		r.f.Close()
		return nil, fmt.Errorf("netlink in a new namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		r.f.Close()
		return nil, fmt.Errorf("loopback of a new namespace: %w", err)
	}
	return r.f, nil
}

// portGroup returns the port group named name, making its namespace and bridge on first use.
func (n *netEmu) portGroup(name string) (*portGroup, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, errors.New("the emulator is closing")
	}
	if pg := n.pgs[name]; pg != nil {
		return pg, nil
	}
	ns, err := newNamespace()
	if err != nil {
		return nil, fmt.Errorf("port group %q: %w", name, err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(ns.Fd()))
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("port group %q: %w", name, err)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := h.LinkAdd(br); err != nil {
		h.Close()
		ns.Close()
		return nil, fmt.Errorf("port group %q: bridge: %w", name, err)
	}
	link, err := h.LinkByName(bridgeName)
	if err == nil {
		err = h.LinkSetUp(link)
	}
	if err != nil {
		h.Close()
		ns.Close()
		return nil, fmt.Errorf("port group %q: bridge up: %w", name, err)
	}
	pg := &portGroup{name: name, ns: ns, h: h, bridge: link.Attrs().Index}
	n.pgs[name] = pg
	return pg, nil
}

// close removes every port group: the namespaces go, and their bridges and veths with them.
func (n *netEmu) close() {
	n.mu.Lock()
	if !n.closed {
		close(n.stop)
	}
	n.closed = true
	n.mu.Unlock()
	n.filler.Wait()
	for drained := false; !drained; {
		select {
		case s := <-n.spares:
			s.ns.Close()
		default:
			drained = true
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, pg := range n.pgs {
		pg.h.Close()
		pg.ns.Close()
		delete(n.pgs, name)
	}
}

// vmNet is one running VM's network: its namespace and its vNICs' veths.
type vmNet struct {
	e  *netEmu
	ns *os.File
	h  *netlink.Handle

	mu   sync.Mutex
	nics map[string]*vnic // by MAC
	pre  *vnic            // the spare's vNIC made ahead, until the first sync adopts or removes it
}

// vnic is one wired vNIC.
type vnic struct {
	dev       vnicDevice
	pg        *portGroup
	hostSide  string // in the port group's namespace, on its bridge
	guestSide string // in the VM's namespace, with the vNIC's MAC
}

// newVMNet makes a VM's network namespace, with its loopback interface up and no vNIC yet but perhaps one
// made ahead, which its first sync adopts or removes.
func (n *netEmu) newVMNet() (*vmNet, error) {
	sp, err := n.take()
	if err != nil {
		return nil, err
	}
	return n.vmNetIn(sp)
}

// vmNetIn makes a VM's network of the spare sp.
func (n *netEmu) vmNetIn(sp spare) (*vmNet, error) {
	h, err := netlink.NewHandleAt(netns.NsHandle(sp.ns.Fd()))
	if err != nil {
		sp.ns.Close()
		n.refill()
		return nil, err
	}
	return &vmNet{e: n, ns: sp.ns, h: h, nics: map[string]*vnic{}, pre: sp.nic}, nil
}

// sync wires the vNICs of devs that are not yet, and unwires those that are no longer there: a hot-added
// or removed vNIC.
func (v *vmNet) sync(devs []vnicDevice) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.h == nil {
		return errors.New("the VM's network is gone")
	}
	want := map[string]vnicDevice{}
	for _, d := range devs {
		want[d.mac] = d
	}
	var errs []error
	for mac, n := range v.nics {
		if d, ok := want[mac]; !ok || d.portGroup != n.dev.portGroup {
			v.unwire(n)
			delete(v.nics, mac)
		}
	}
	if len(devs) > 0 {
		v.e.usual.Store(&devs[0].portGroup)
	}
	if p := v.pre; p != nil {
		v.pre = nil
		if len(devs) > 0 && v.nics[devs[0].mac] == nil && devs[0].portGroup == p.pg.name && v.adopt(p, devs[0]) == nil {
			v.nics[devs[0].mac] = p
		} else {
			v.unwire(p)
		}
	}
	for _, d := range devs {
		if v.nics[d.mac] != nil {
			continue
		}
		n, err := v.wire(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("vNIC %s on %q: %w", d.mac, d.portGroup, err))
			continue
		}
		v.nics[d.mac] = n
	}
	return errors.Join(errs...)
}

// wire makes d's veth pair: one end on its port group's bridge, the other in the VM's namespace.
func (v *vmNet) wire(d vnicDevice) (*vnic, error) {
	pg, err := v.e.portGroup(d.portGroup)
	if err != nil {
		return nil, err
	}
	hw, err := net.ParseMAC(d.mac)
	if err != nil {
		return nil, err
	}
	n, err := v.e.veth(pg, v.ns, v.freeName(), hw)
	if err != nil {
		return nil, err
	}
	n.dev = d
	return n, nil
}

// veth makes a veth pair: guestSide in ns with the MAC hw (the kernel's choice when nil), down for the guest
// to set up; its peer up on pg's bridge.
func (n *netEmu) veth(pg *portGroup, ns *os.File, guestSide string, hw net.HardwareAddr) (*vnic, error) {
	nic := &vnic{pg: pg, hostSide: fmt.Sprintf("vn%d", n.seq.Add(1)), guestSide: guestSide}
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: nic.hostSide, MasterIndex: pg.bridge},
		PeerName:  guestSide, PeerHardwareAddr: hw, PeerNamespace: netlink.NsFd(int(ns.Fd())),
	}
	if err := pg.h.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("veth: %w", err)
	}
	link, err := pg.h.LinkByName(nic.hostSide)
	if err == nil {
		err = pg.h.LinkSetUp(link)
	}
	if err != nil {
		_ = pg.h.LinkDel(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: nic.hostSide}})
		return nil, fmt.Errorf("veth up: %w", err)
	}
	return nic, nil
}

// adopt makes p, a vNIC made ahead in the VM's namespace, the vNIC d: its guest end takes d's MAC.
func (v *vmNet) adopt(p *vnic, d vnicDevice) error {
	hw, err := net.ParseMAC(d.mac)
	if err != nil {
		return err
	}
	link, err := v.h.LinkByName(p.guestSide)
	if err == nil {
		err = v.h.LinkSetHardwareAddr(link, hw)
	}
	if err != nil {
		return fmt.Errorf("vNIC made ahead: %w", err)
	}
	p.dev = d
	return nil
}

// unwire removes n's veth pair, as pulling the vNIC does.
func (v *vmNet) unwire(n *vnic) {
	if link, err := n.pg.h.LinkByName(n.hostSide); err == nil {
		_ = n.pg.h.LinkDel(link)
	}
}

// freeName is the first ethN the VM's namespace does not have, as a guest names its NICs.
func (v *vmNet) freeName() string {
	taken := map[string]bool{}
	for _, n := range v.nics {
		taken[n.guestSide] = true
	}
	if links, err := v.h.LinkList(); err == nil {
		for _, l := range links {
			taken[l.Attrs().Name] = true
		}
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !taken[name] {
			return name
		}
	}
}

// close lets the VM's namespace go, and its vNICs with it. The namespace lives on while a process is in it;
// then the kernel dismantles it in the background, deleting each veth's end in it and so the pair (the port
// group's end leaves its bridge). Deleting the pairs here one by one waited for the kernel's RCU grace
// periods under its network lock, 10-45 ms a guest on a loaded host, between the guest's halt and the VM's
// power-off.
func (v *vmNet) close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.nics)
	v.pre = nil
	if v.h != nil {
		v.h.Close()
		v.h = nil
	}
	v.ns.Close()
}

// enterNetns moves the calling (locked) thread into ns and returns how to move it back.
func enterNetns(ns *os.File) (back func() error, err error) {
	host, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		host.Close()
		return nil, fmt.Errorf("enter the VM's network namespace: %w", err)
	}
	return func() error {
		defer host.Close()
		return unix.Setns(int(host.Fd()), unix.CLONE_NEWNET)
	}, nil
}
