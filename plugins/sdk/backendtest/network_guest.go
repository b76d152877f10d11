package backendtest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client/scopes"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// onNetworks is a spec of p on the networks ids.
func (s *suite) onNetworks(t *testing.T, p process, ids ...string) *models.ContainerSpec {
	sp := s.spec(newID(), s.newName(t), p)
	for _, id := range ids {
		sp.Endpoints = append(sp.Endpoints, &models.Endpoint{Network: &id})
	}
	return sp
}

// untilLog waits for a line of the container's stdout that ok accepts, and returns it.
func (s *suite) untilLog(t *testing.T, id, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(expectWait)
	for {
		out := lines(s.logs(t, id, logQuery{}), "stdout")
		for i := len(out) - 1; i >= 0; i-- {
			if ok(out[i]) {
				return out[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s never printed %s; it printed %q", id, what, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The guest's NICs are configured as its endpoints say: its address, its default route through its first
// network's gateway, its name on its address in /etc/hosts; guests on one network reach each other, guests
// on another do not; a NIC hot-added to a running container is configured by its guest, and a hot-removed
// one is gone.
func (s *suite) testNetworkGuest(t *testing.T) {
	n1 := "conformance-g1-" + newID()[:8]
	a := createScope(t, s.pl, &models.ScopeSpec{Name: &n1, Subnet: "10.247.0.0/24"})
	n2 := "conformance-g2-" + newID()[:8]
	b := createScope(t, s.pl, &models.ScopeSpec{Name: &n2, Subnet: "10.246.0.0/24"})

	show := sh(`ip -4 -o addr show | grep -v ' lo ' | sed 's/^/addr:/'; ip route | sed 's/^/route:/'; ` +
		`grep -v -e localhost -e ip6 /etc/hosts | sed 's/^/hosts:/'`)
	sp := s.onNetworks(t, show, a.ID)
	sp.Hostname = "shown"
	c := s.createSpec(t, sp)
	ip := endpointOn(c, a.ID).IP
	s.start(t, *c.ID)
	s.exited(t, *c.ID, 0)
	out := strings.Join(lines(s.logs(t, *c.ID, logQuery{}), "stdout"), "\n")
	for _, want := range []string{"inet " + ip + "/24", "route:default via 10.247.0.1", "hosts:" + ip + "\tshown"} {
		if !strings.Contains(out, want) {
			t.Errorf("the guest lacks %q:\n%s", want, out)
		}
	}

	server := s.createSpec(t, s.onNetworks(t, sh(`mkdir -p /www && echo served >/www/x && exec httpd -f -p 8000 -h /www`), a.ID))
	server = s.start(t, *server.ID)
	addr := endpointOn(server, a.ID).IP
	fetch := fmt.Sprintf(`for i in $(seq 100); do timeout 10 wget -q -O- http://%s:8000/x && exit 0; sleep 0.3; done; exit 1`, addr)
	near := s.createSpec(t, s.onNetworks(t, sh(fetch), a.ID))
	s.start(t, *near.ID)
	s.exited(t, *near.ID, 0)
	if got := lines(s.logs(t, *near.ID, logQuery{}), "stdout"); !slices.Contains(got, "served") {
		t.Errorf("a guest on %s fetched %q from %s, want served", n1, got, addr)
	}
	far := s.createSpec(t, s.onNetworks(t, sh(fmt.Sprintf(`timeout 3 wget -q -O- http://%s:8000/x`, addr)), b.ID))
	s.start(t, *far.ID)
	if st := s.wait(t, *far.ID, "not-running"); st.ExitCode == 0 {
		t.Errorf("a guest on %s reached %s on %s", n2, addr, n1)
	}

	watch := s.createSpec(t, s.onNetworks(t, sh(`while :; do echo "addrs:$(ip -4 -o addr show | grep -v ' lo ' | awk '{print $4}' | tr '\n' ' ')"; sleep 0.2; done`), a.ID))
	s.start(t, *watch.ID)
	after, err := s.connect(t, *watch.ID, &models.Endpoint{Network: &b.ID})
	if err != nil {
		t.Fatalf("connect a running container: %v", errText(err))
	}
	added := endpointOn(after, b.ID).IP + "/24"
	s.untilLog(t, *watch.ID, "its hot-added address "+added, func(l string) bool { return strings.Contains(l, added) })
	if _, err := s.disconnect(t, *watch.ID, b.ID); err != nil {
		t.Fatalf("disconnect a running container: %v", errText(err))
	}
	mark := time.Now()
	s.untilLog(t, *watch.ID, "addresses without "+added, func(l string) bool {
		return time.Since(mark) > 500*time.Millisecond && strings.HasPrefix(l, "addrs:") && !strings.Contains(l, added)
	})
}

// A container network (when the backend has one): containers get addresses from its range, its gateway and
// name servers, reach their peers on it, and a port published there is the container's own.
func (s *suite) testContainerNetwork(t *testing.T) {
	resp, err := s.pl.Scopes.ListScopes(scopes.NewListScopesParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatal(errText(err))
	}
	var cn *models.ScopeInfo
	for _, sc := range resp.Payload {
		if sc.Type == "container" && sc.Subnet != "" {
			cn = sc
		}
	}
	if cn == nil {
		t.Skip("the backend has no container network with addresses")
	}
	if cn.Trust == "closed" || cn.Trust == "outbound" || cn.Trust == "published" {
		t.Skipf("the container network's firewall (%s) keeps peers apart", cn.Trust)
	}
	srv := s.onNetworks(t, sh(`mkdir -p /www && echo peer >/www/x && exec httpd -f -p 8000 -h /www`), cn.ID)
	srv.Ports = []*models.PortBinding{{Protocol: "tcp", ContainerPort: 8000}}
	c := s.start(t, *s.createSpec(t, srv).ID)
	ep := endpointOn(c, cn.ID)
	pool := netip.MustParsePrefix(cn.Subnet)
	if cn.IPRange != "" {
		pool = netip.MustParsePrefix(cn.IPRange)
	}
	if ep == nil || !pool.Contains(netip.MustParseAddr(ep.IP)) || ep.Gateway != cn.Gateway {
		t.Fatalf("endpoint %+v on %s, want an address of %s and the gateway %s", ep, cn.Name, pool, cn.Gateway)
	}
	if len(c.Ports) != 1 || c.Ports[0].HostIP != ep.IP || c.Ports[0].HostPort != 8000 {
		t.Errorf("ports %+v, want 8000 published on the container's own address %s", c.Ports, ep.IP)
	}
	client := s.createSpec(t, s.onNetworks(t, sh(fmt.Sprintf(`cat /etc/resolv.conf; ip route; `+
		`for i in $(seq 100); do timeout 10 wget -q -O- http://%s:8000/x && exit 0; sleep 0.3; done; exit 1`, ep.IP)), cn.ID))
	s.start(t, *client.ID)
	s.exited(t, *client.ID, 0)
	out := strings.Join(lines(s.logs(t, *client.ID, logQuery{}), "stdout"), "\n")
	for _, want := range []string{"peer", "default via " + cn.Gateway} {
		if !strings.Contains(out, want) {
			t.Errorf("the client on %s lacks %q:\n%s", cn.Name, want, out)
		}
	}
	for _, d := range cn.DNS {
		if !strings.Contains(out, "nameserver "+d) {
			t.Errorf("the client's resolver lacks the network's name server %s:\n%s", d, out)
		}
	}
}
