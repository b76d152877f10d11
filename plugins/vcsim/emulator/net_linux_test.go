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
