package emulator

import (
	"os"
)

// Network namespaces are made ahead of boots, so a boot waits neither for the kernel to make one
// (milliseconds, far more while it tears others down) nor, most of the time, for its first vNIC's veth pair:
// a spare comes with a pair made on the bridge of the port group the latest boot's first vNIC joined (a VCH's
// containers all join its bridge network first), its guest end eth0, down. The boot gives that end its vNIC's
// MAC, one quick netlink call where making the pair and joining it to the bridge took 1-17 ms on a loaded
// host; a boot whose first vNIC joins another port group, or that has none, removes the pair.

// spareNamespaces is how many network namespaces the emulator keeps made ahead of boots.
const spareNamespaces = 4

// spare is a network namespace made ahead, with its loopback up.
type spare struct {
	ns  *os.File
	nic *vnic // a veth pair made ahead, its guest end in ns; nil when none
}

// take returns a new network namespace: a spare when there is one, else one made now (and the filler
// woken). A boot calls refill once its guest has started.
func (n *netEmu) take() (spare, error) {
	n.fillOnce.Do(func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.closed {
			return
		}
		n.filler.Add(1)
		go n.fill()
	})
	select {
	case s := <-n.spares:
		return s, nil
	default:
		n.refill()
		ns, err := newNamespace()
		return spare{ns: ns}, err
	}
}

// refill wakes the filler to make up for the spares taken. A boot calls it once its guest has started: the
// filler's namespace and veth pair cost CPU and the kernel's network lock, which the boot's own last steps
// would otherwise share.
func (n *netEmu) refill() {
	select {
	case n.wantSpare <- struct{}{}:
	default:
	}
}

// fill keeps spares full until stop.
func (n *netEmu) fill() {
	defer n.filler.Done()
	for {
		for len(n.spares) < cap(n.spares) {
			select {
			case <-n.stop:
				return
			default:
			}
			s, err := n.makeSpare()
			if err != nil {
				break // the boots make their own; try again on the next one
			}
			select {
			case n.spares <- s:
			default:
				s.ns.Close()
			}
		}
		select {
		case <-n.wantSpare:
		case <-n.stop:
			return
		}
	}
}

// makeSpare makes a namespace and, once a boot has shown which port group vNICs usually join, a veth pair
// on its bridge.
func (n *netEmu) makeSpare() (spare, error) {
	ns, err := newNamespace()
	if err != nil {
		return spare{}, err
	}
	s := spare{ns: ns}
	if name := n.usual.Load(); name != nil {
		if pg, err := n.portGroup(*name); err == nil {
			s.nic, _ = n.veth(pg, ns, "eth0", nil) // without one, the boot makes its own
		}
	}
	return s, nil
}
