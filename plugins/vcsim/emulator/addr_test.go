package emulator

import (
	"net/netip"
	"testing"
)

func TestAddrPool(t *testing.T) {
	p, err := newAddrPool(netip.MustParsePrefix("127.77.0.0/29")) // .2 .. .6 usable
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	seen := map[netip.Addr]string{}
	for _, vm := range []string{"vm-1", "vm-2", "vm-3", "vm-4", "vm-5"} {
		a, err := p.get(vm)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[a]; dup {
			t.Fatalf("%s and %s both got %s", prev, vm, a)
		}
		if !p.usable(a) {
			t.Fatalf("%s got %s", vm, a)
		}
		seen[a] = vm
	}
	if a, _ := p.get("vm-1"); a != netip.MustParseAddr("127.77.0.2") {
		t.Errorf("vm-1 now has %s, want its first address", a)
	}
	if _, err := p.get("vm-6"); err == nil {
		t.Error("an exhausted pool gave out an address")
	}
	p.release("vm-3")
	if a, err := p.get("vm-6"); err != nil || a != netip.MustParseAddr("127.77.0.4") {
		t.Errorf("vm-6 got %s, %v; want vm-3's released 127.77.0.4", a, err)
	}
}

// 127.0.0.1 and the network's first two addresses are never handed out.
func TestAddrPoolSkipsLocalhost(t *testing.T) {
	p, err := newAddrPool(netip.MustParsePrefix("127.0.0.0/30")) // .0 network, .1 skipped, .2 usable, .3 broadcast
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	a, err := p.get("vm-1")
	if err != nil || a != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("got %s, %v", a, err)
	}
	if _, err := p.get("vm-2"); err == nil {
		t.Fatal("handed out a reserved address")
	}
	for _, bad := range []string{"10.0.0.0/8", "::1/128", "127.0.0.0/31"} {
		if _, err := newAddrPool(netip.MustParsePrefix(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// Two emulators on one host (here two pools of one process) never hand out the same address; a closed
// pool's addresses are free again.
func TestAddrPoolsShareTheHost(t *testing.T) {
	prefix := netip.MustParsePrefix("127.78.0.0/24")
	a, err := newAddrPool(prefix)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newAddrPool(prefix)
	defer b.close()
	x, err := a.get("vm-1")
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.get("vm-1")
	if err != nil || y == x {
		t.Fatalf("both pools gave %s (%v)", x, err)
	}
	a.close()
	c, _ := newAddrPool(prefix)
	defer c.close()
	if z, err := c.get("vm-9"); err != nil || z != x {
		t.Errorf("after close got %s %v, want %s back", z, err, x)
	}
}

func TestLocalName(t *testing.T) {
	for name, want := range map[string]string{
		"init":                "/d/init",
		"bin/vice-engine":     "/d/bin/vice-engine",
		"PLUGINS/VICE_PLU.;1": "/d/PLUGINS/VICE_PLU",
		"boot/vmlinuz":        "/d/boot/vmlinuz",
		"..":                  "",
		"a/../../etc":         "",
		"a/./b":               "",
	} {
		got, ok := localName("/d", name)
		if (want == "") == ok || got != want {
			t.Errorf("localName(%q) = %q %v, want %q", name, got, ok, want)
		}
	}
}
