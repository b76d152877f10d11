package dockerapi_test

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/engine"
)

// The endpoint's name servers (vice-engine --dns, from the VCH's --dns-server) go to containers whose
// create request names none; a request's own --dns wins. The guest's /etc/resolv.conf says which it got.
func TestDefaultDNS(t *testing.T) {
	s := newStack(t, engine.WithDNS([]string{"10.0.0.2", "10.0.0.3"}))
	importImage(t, s, "busybox:latest", `CMD ["sh"]`)
	cli := newClient(t, s)
	n := 0
	dnsOf := func(host *container.HostConfig) []string {
		t.Helper()
		n++
		_, out, _, code := run(t, cli, &container.Config{Image: "busybox", Cmd: []string{"cat", "/etc/resolv.conf"}},
			host, "dns"+strconv.Itoa(n))
		if code != 0 {
			t.Fatalf("cat /etc/resolv.conf: exit %d, %q", code, out)
		}
		var servers []string
		for _, line := range strings.Split(out, "\n") {
			if addr, ok := strings.CutPrefix(line, "nameserver "); ok {
				servers = append(servers, addr)
			}
		}
		return servers
	}
	if got := dnsOf(nil); !slices.Equal(got, []string{"10.0.0.2", "10.0.0.3"}) {
		t.Errorf("default DNS %v", got)
	}
	own := &container.HostConfig{DNS: []netip.Addr{netip.MustParseAddr("192.0.2.53")}}
	if got := dnsOf(own); !slices.Equal(got, []string{"192.0.2.53"}) {
		t.Errorf("the request's DNS %v", got)
	}
}
