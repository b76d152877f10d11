package emulator

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// A VM's vNIC leaves its port group's bridge when the VM's network is closed: the kernel deletes the veth
// pair with the VM's namespace, in the background.
func TestVMNetCloseUnwires(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may make network namespaces")
	}
	n := newNetEmu()
	defer n.close()
	v, err := n.newVMNet()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.sync([]vnicDevice{{mac: "02:00:00:00:00:01", portGroup: "test-pg"}}); err != nil {
		v.close()
		t.Fatal(err)
	}
	pg := v.nics["02:00:00:00:00:01"].pg
	host := v.nics["02:00:00:00:00:01"].hostSide
	if _, err := pg.h.LinkByName(host); err != nil {
		v.close()
		t.Fatalf("the vNIC's end on the bridge: %v", err)
	}
	v.close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := pg.h.LinkByName(host)
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the vNIC's end %s is still on the bridge 30 s after its VM's network was closed", host)
		}
	}
}

// Once a boot has wired a vNIC, spares come with a veth pair on that port group's bridge: a VM whose first
// vNIC joins it adopts the pair (eth0, with the vNIC's MAC); in a VM whose first vNIC joins another port
// group, or that has none, the pair is removed.
func TestSpareVNICs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may make network namespaces")
	}
	n := newNetEmu()
	defer n.close()
	const pg, mac1, mac2, mac3 = "test-pg", "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"
	first, err := n.newVMNet()
	if err != nil {
		t.Fatal(err)
	}
	defer first.close()
	if err := first.sync([]vnicDevice{{mac: mac1, portGroup: pg}}); err != nil {
		t.Fatal(err)
	}

	// vmWithSpareNIC boots a VM with devs in the next spare that has a pair made ahead (the spares made
	// before a boot had wired a vNIC have none).
	vmWithSpareNIC := func(devs ...vnicDevice) (*vmNet, *vnic) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			var s spare
			select {
			case s = <-n.spares:
			case <-deadline:
				t.Fatal("no spare with a vNIC made ahead")
			}
			if s.nic == nil {
				s.ns.Close()
				n.refill()
				continue
			}
			v, err := n.vmNetIn(s)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(v.close)
			if err := v.sync(devs); err != nil {
				t.Fatal(err)
			}
			return v, s.nic
		}
	}
	// links lists the VM's interfaces but its loopback, by name, with their MACs.
	links := func(v *vmNet) map[string]string {
		t.Helper()
		list, err := v.h.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, l := range list {
			if a := l.Attrs(); a.Name != "lo" {
				out[a.Name] = a.HardwareAddr.String()
			}
		}
		return out
	}
	onBridge := func(nic *vnic) bool {
		t.Helper()
		l, err := nic.pg.h.LinkByName(nic.hostSide)
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().MasterIndex == nic.pg.bridge
	}

	v, made := vmWithSpareNIC(vnicDevice{mac: mac2, portGroup: pg})
	if got := links(v); len(got) != 1 || got["eth0"] != mac2 || v.nics[mac2] != made || !onBridge(made) {
		t.Fatalf("the VM's interfaces are %v; want eth0, the pair made ahead on the bridge, with %s", got, mac2)
	}
	v, made = vmWithSpareNIC(vnicDevice{mac: mac3, portGroup: "other-pg"})
	if got := links(v); len(got) != 1 || got["eth0"] != mac3 || v.nics[mac3].pg.name != "other-pg" || onBridge(made) {
		t.Fatalf("the VM's interfaces are %v, the pair made ahead on %s still there: %v; want eth0 with %s on other-pg alone",
			got, made.pg.name, onBridge(made), mac3)
	}
	v, made = vmWithSpareNIC()
	if got := links(v); len(got) != 0 || onBridge(made) {
		t.Fatalf("a VM without vNICs has interfaces %v, the pair made ahead still there: %v", got, onBridge(made))
	}
}
