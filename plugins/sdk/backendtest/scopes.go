package backendtest

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/scopes"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// scopeByName finds a network in the list by name.
func scopeByName(t *testing.T, pl *client.Portlayer, name string) *models.ScopeInfo {
	t.Helper()
	resp, err := pl.Scopes.ListScopes(scopes.NewListScopesParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatalf("list networks: %v", errText(err))
	}
	for _, s := range resp.Payload {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// createScope makes a bridge network and removes it when t ends.
func createScope(t *testing.T, pl *client.Portlayer, spec *models.ScopeSpec) *models.ScopeInfo {
	t.Helper()
	resp, err := pl.Scopes.CreateScope(scopes.NewCreateScopeParamsWithContext(ctx(t)).WithSpec(spec))
	if err != nil {
		t.Fatalf("create network %s: %v", *spec.Name, errText(err))
	}
	id := resp.Payload.ID
	t.Cleanup(func() {
		_, _ = pl.Scopes.RemoveScope(scopes.NewRemoveScopeParams().WithScope(id))
	})
	return resp.Payload
}

// testScopes runs the networks' contract that needs no container: the predefined networks, create with and
// without a subnet, inspect, list, remove, and the error classes.
func testScopes(t *testing.T, pl *client.Portlayer) {
	bridge := scopeByName(t, pl, "bridge")
	if bridge == nil || bridge.Type != "bridge" || !bridge.Predefined || bridge.PortGroup == "" {
		t.Fatalf("the bridge network is %+v, want a predefined bridge network on a port group", bridge)
	}
	bsub := netip.MustParsePrefix(bridge.Subnet)
	if gw := netip.MustParseAddr(bridge.Gateway); !bsub.Contains(gw) {
		t.Errorf("the bridge's gateway %s is outside its subnet %s", gw, bsub)
	}
	for name, typ := range map[string]string{"host": "host", "none": "null"} {
		if s := scopeByName(t, pl, name); s == nil || s.Type != typ || !s.Predefined {
			t.Errorf("network %s is %+v, want a predefined %s network", name, s, typ)
		}
	}

	name := "conformance-net-" + newID()[:8]
	auto := createScope(t, pl, &models.ScopeSpec{Name: &name, Labels: map[string]string{"l": "v"},
		Options: map[string]string{"o": "w"}, Internal: true})
	sub := netip.MustParsePrefix(auto.Subnet)
	switch {
	case len(auto.ID) != 64 || auto.Name != name || auto.Type != "bridge" || auto.Predefined:
		t.Errorf("created %+v", auto)
	case sub.Overlaps(bsub):
		t.Errorf("the new network's subnet %s overlaps the bridge's %s", sub, bsub)
	case auto.Gateway != sub.Addr().Next().String():
		t.Errorf("gateway %s, want the subnet's first address", auto.Gateway)
	case !auto.Internal || auto.Labels["l"] != "v" || auto.Options["o"] != "w" || auto.PortGroup != bridge.PortGroup:
		t.Errorf("created %+v, want it internal with its labels and options, on the bridge port group", auto)
	}
	got, err := pl.Scopes.GetScope(scopes.NewGetScopeParamsWithContext(ctx(t)).WithScope(auto.ID))
	if err != nil || got.Payload.Name != name || got.Payload.Subnet != auto.Subnet {
		t.Errorf("get %s: %+v, %v", auto.ID, got, errText(err))
	}
	if l := scopeByName(t, pl, name); l == nil || l.ID != auto.ID {
		t.Errorf("the list lacks %s", name)
	}

	given := "conformance-net-" + newID()[:8]
	fixed := createScope(t, pl, &models.ScopeSpec{Name: &given, Subnet: "10.251.0.0/24", Gateway: "10.251.0.254",
		IPRange: "10.251.0.128/25"})
	if fixed.Subnet != "10.251.0.0/24" || fixed.Gateway != "10.251.0.254" || fixed.IPRange != "10.251.0.128/25" {
		t.Errorf("created %+v, want the subnet, gateway and range asked for", fixed)
	}

	create := func(spec *models.ScopeSpec) error {
		_, err := pl.Scopes.CreateScope(scopes.NewCreateScopeParamsWithContext(ctx(t)).WithSpec(spec))
		return err
	}
	other := "conformance-net-" + newID()[:8]
	for _, c := range []struct {
		what   string
		spec   *models.ScopeSpec
		status int
		class  string
	}{
		{"a name in use", &models.ScopeSpec{Name: &name}, http.StatusConflict, "conflict"},
		{"a predefined name", &models.ScopeSpec{Name: ptr("bridge")}, http.StatusConflict, "conflict"},
		{"an overlapping subnet", &models.ScopeSpec{Name: &other, Subnet: "10.251.0.0/16"}, http.StatusForbidden, "forbidden"},
		{"a gateway outside the subnet", &models.ScopeSpec{Name: &other, Subnet: "10.252.0.0/24", Gateway: "10.253.0.1"}, http.StatusForbidden, "forbidden"},
		{"a range outside the subnet", &models.ScopeSpec{Name: &other, Subnet: "10.252.0.0/24", IPRange: "10.253.0.0/25"}, http.StatusForbidden, "forbidden"},
		{"a malformed subnet", &models.ScopeSpec{Name: &other, Subnet: "10.252.0.0/33"}, http.StatusBadRequest, "invalid"},
		{"a bad name", &models.ScopeSpec{Name: ptr("no spaces")}, http.StatusBadRequest, "invalid"},
	} {
		t.Run(strings.ReplaceAll(c.what, " ", "-"), func(t *testing.T) { wantClass(t, create(c.spec), c.status, c.class) })
	}

	_, err = pl.Scopes.RemoveScope(scopes.NewRemoveScopeParamsWithContext(ctx(t)).WithScope(bridge.ID))
	wantClass(t, err, http.StatusForbidden, "forbidden")
	if _, err := pl.Scopes.RemoveScope(scopes.NewRemoveScopeParamsWithContext(ctx(t)).WithScope(fixed.ID)); err != nil {
		t.Fatalf("remove %s: %v", given, errText(err))
	}
	_, err = pl.Scopes.GetScope(scopes.NewGetScopeParamsWithContext(ctx(t)).WithScope(fixed.ID))
	wantClass(t, err, http.StatusNotFound, "not_found")
	_, err = pl.Scopes.RemoveScope(scopes.NewRemoveScopeParamsWithContext(ctx(t)).WithScope(fixed.ID))
	wantClass(t, err, http.StatusNotFound, "not_found")
	if s := scopeByName(t, pl, given); s != nil {
		t.Errorf("the removed network %s is still listed", given)
	}
	_, err = pl.Scopes.GetScope(scopes.NewGetScopeParamsWithContext(ctx(t)).WithScope("not-an-id"))
	wantClass(t, err, http.StatusBadRequest, "invalid")
}
