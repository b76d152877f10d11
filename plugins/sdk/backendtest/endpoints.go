package backendtest

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/client/scopes"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// endpointOn is the container's endpoint on network id, or nil.
func endpointOn(c *models.ContainerInfo, id string) *models.EndpointInfo {
	for _, ep := range c.Endpoints {
		if ep.Network == id {
			return ep
		}
	}
	return nil
}

func (s *suite) connect(t *testing.T, id string, ep *models.Endpoint) (*models.ContainerInfo, error) {
	t.Helper()
	resp, err := s.pl.Scopes.ConnectContainer(scopes.NewConnectContainerParamsWithContext(ctx(t)).WithID(id).WithEndpoint(ep))
	if err != nil {
		return nil, err
	}
	return resp.Payload, nil
}

func (s *suite) disconnect(t *testing.T, id, scope string) (*models.ContainerInfo, error) {
	t.Helper()
	resp, err := s.pl.Scopes.DisconnectContainer(scopes.NewDisconnectContainerParamsWithContext(ctx(t)).WithID(id).WithScope(scope))
	if err != nil {
		return nil, err
	}
	return resp.Payload, nil
}

// Containers get endpoints as asked: the address and MAC given or chosen (never one in use), their names,
// the network's gateway and prefix; the spec reads back as given; a network in use stays; a container joins
// and leaves networks while it is created.
func (s *suite) testEndpoints(t *testing.T) {
	name := "conformance-ep-" + newID()[:8]
	n := createScope(t, s.pl, &models.ScopeSpec{Name: &name, Subnet: "10.250.0.0/24", IPRange: "10.250.0.0/25"})
	bridge := scopeByName(t, s.pl, "bridge")
	link := s.create(t, forever)

	a := s.spec(newID(), s.newName(t), forever)
	a.Endpoints = []*models.Endpoint{{Network: &n.ID, IP: "10.250.0.10", Mac: "00:50:56:01:02:03", Aliases: []string{"web"},
		Links: []*models.Link{{Container: link.ID, Alias: ptr("db")}}}}
	ca := s.createSpec(t, a)
	ep := endpointOn(ca, n.ID)
	switch {
	case ep == nil:
		t.Fatalf("container on %s has endpoints %+v", name, ca.Endpoints)
	case ep.IP != "10.250.0.10" || ep.Mac != "00:50:56:01:02:03" || ep.Gateway != "10.250.0.1" || ep.PrefixLength != 24:
		t.Errorf("endpoint %+v, want 10.250.0.10/24 via 10.250.0.1 on 00:50:56:01:02:03", ep)
	case ep.NetworkName != name || len(ep.ID) != 64 || !slices.Equal(ep.Aliases, []string{"web"}):
		t.Errorf("endpoint %+v, want network %s, an ID and the alias web", ep, name)
	case len(ep.Links) != 1 || *ep.Links[0].Container != *link.ID || *ep.Links[0].Alias != "db":
		t.Errorf("endpoint links %+v, want db to %s", ep.Links, *link.ID)
	}
	if got := s.get(t, *ca.ID).Spec.Endpoints; len(got) != 1 || got[0].IP != "10.250.0.10" || got[0].Mac != "00:50:56:01:02:03" {
		t.Errorf("the spec reads back endpoints %+v", got)
	}

	b := s.spec(newID(), s.newName(t), forever)
	b.Endpoints = []*models.Endpoint{{Network: &bridge.ID}, {Network: &n.ID}}
	cb := s.createSpec(t, b)
	if len(cb.Endpoints) != 2 || cb.Endpoints[0].Network != bridge.ID || cb.Endpoints[1].Network != n.ID {
		t.Fatalf("endpoints %+v, want the bridge's then %s's", cb.Endpoints, name)
	}
	ip := netip.MustParseAddr(cb.Endpoints[1].IP)
	if !netip.MustParsePrefix("10.250.0.0/25").Contains(ip) || ip.String() == "10.250.0.10" || ip.String() == "10.250.0.1" ||
		ip.String() == "10.250.0.0" {
		t.Errorf("the chosen address %s is not a free one of the range", ip)
	}
	if cb.Endpoints[0].Mac == cb.Endpoints[1].Mac || cb.Endpoints[0].Mac == "" {
		t.Errorf("the NICs' MACs %s and %s", cb.Endpoints[0].Mac, cb.Endpoints[1].Mac)
	}

	for what, ask := range map[string]*models.Endpoint{
		"an address in use":      {Network: &n.ID, IP: "10.250.0.10"},
		"the gateway's address":  {Network: &n.ID, IP: "10.250.0.1"},
		"an address off the net": {Network: &n.ID, IP: "10.249.0.10"},
		"a MAC in use":           {Network: &n.ID, Mac: "00:50:56:01:02:03"},
	} {
		sp := s.spec(newID(), s.newName(t), forever)
		sp.Endpoints = []*models.Endpoint{ask}
		_, err := s.pl.Containers.CreateContainer(containers.NewCreateContainerParamsWithContext(ctx(t)).WithSpec(sp))
		t.Run(what, func(t *testing.T) { wantClass(t, err, http.StatusForbidden, "forbidden") })
	}

	_, err := s.pl.Scopes.RemoveScope(scopes.NewRemoveScopeParamsWithContext(ctx(t)).WithScope(n.ID))
	wantClass(t, err, http.StatusForbidden, "forbidden")

	c, err := s.connect(t, *ca.ID, &models.Endpoint{Network: &bridge.ID})
	if err != nil {
		t.Fatalf("connect to the bridge: %v", errText(err))
	}
	if len(c.Endpoints) != 2 || endpointOn(c, bridge.ID) == nil || endpointOn(c, bridge.ID).IP == "" {
		t.Errorf("after connect: endpoints %+v", c.Endpoints)
	}
	_, err = s.connect(t, *ca.ID, &models.Endpoint{Network: &bridge.ID})
	wantClass(t, err, http.StatusConflict, "conflict")
	host := scopeByName(t, s.pl, "host")
	_, err = s.connect(t, *ca.ID, &models.Endpoint{Network: &host.ID})
	wantClass(t, err, http.StatusBadRequest, "invalid")
	if c, err = s.disconnect(t, *ca.ID, bridge.ID); err != nil {
		t.Fatalf("disconnect from the bridge: %v", errText(err))
	}
	if len(c.Endpoints) != 1 || endpointOn(c, bridge.ID) != nil {
		t.Errorf("after disconnect: endpoints %+v", c.Endpoints)
	}
	_, err = s.disconnect(t, *ca.ID, bridge.ID)
	wantClass(t, err, http.StatusNotFound, "not_found")
}
