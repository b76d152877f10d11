package dockerapi_test

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/tether/wire"
)

// The endpoint's name servers (vice-engine --dns, from the VCH's --dns-server) go to containers whose
// create request names none; a request's own --dns wins.
func TestDefaultDNS(t *testing.T) {
	s := newStack(t, engine.WithDNS([]string{"10.0.0.2", "10.0.0.3"}))
	importImage(t, s, "busybox:latest", `CMD ["sh"]`)
	cli := newClient(t, s)
	ctx := t.Context()
	dnsOf := func(host *container.HostConfig) []string {
		t.Helper()
		created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: "busybox"}, HostConfig: host})
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.backend.GetContainer(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		var cfg wire.ContainerConfig
		if err := json.Unmarshal([]byte(info.Config), &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg.DNS
	}
	if got := dnsOf(nil); !slices.Equal(got, []string{"10.0.0.2", "10.0.0.3"}) {
		t.Errorf("default DNS %v", got)
	}
	own := &container.HostConfig{DNS: []netip.Addr{netip.MustParseAddr("192.0.2.53")}}
	if got := dnsOf(own); !slices.Equal(got, []string{"192.0.2.53"}) {
		t.Errorf("the request's DNS %v", got)
	}
}
