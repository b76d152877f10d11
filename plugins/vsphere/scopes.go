package vsphere

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/go-openapi/strfmt"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/events"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// The VCH's networks (DESIGN §5a). The predefined ones (bridge, host, none and the container networks) come
// from the configuration, under IDs derived from the VCH's and the network's names, so they are the same
// after every restart. User-defined bridge networks are KV records; the containers' places on them are in
// each containerVM's extraConfig (endpoints.go), from which the addresses in use are derived.

// Scope types, as the port layer names them.
const (
	scopeBridge    = "bridge"
	scopeContainer = "container"
	scopeHost      = "host"
	scopeNull      = "null"
)

// Names of the predefined networks, as Docker has them.
const (
	bridgeScopeName = "bridge"
	hostScopeName   = "host"
	noneScopeName   = "none"
)

// scopeKeyPrefix is the KV prefix of user-defined networks' records.
const scopeKeyPrefix = "portlayer.scopes."

// EventTypeNetwork is the type of the events networks publish (create, destroy, connect, disconnect).
const EventTypeNetwork = "network"

// networkNamePattern is what a network's name may be: also a DNS label for its containers' resolvers.
var networkNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

var scopeIDPattern = regexp.MustCompile(`^[a-f0-9]{64}$`)

// scope is one network, as kept in the KV store for user-defined ones.
type scope struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	PortGroup  string            `json:"portGroup,omitempty"`
	Subnet     netip.Prefix      `json:"subnet,omitzero"`
	Gateway    netip.Addr        `json:"gateway,omitzero"`
	IPRange    netip.Prefix      `json:"ipRange,omitzero"`
	Internal   bool              `json:"internal,omitempty"`
	Attachable bool              `json:"attachable,omitempty"`
	Predefined bool              `json:"-"`
	Labels     map[string]string `json:"labels,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
	DNS        []string          `json:"dns,omitempty"`
	Trust      string            `json:"trust,omitempty"`
	Created    string            `json:"created,omitempty"`
}

// hasEndpoints says whether containers can be on the network.
func (s *scope) hasEndpoints() bool { return s.Type == scopeBridge || s.Type == scopeContainer }

// pool is where addresses are given out from: the range, else the subnet.
func (s *scope) pool() netip.Prefix {
	if s.IPRange.IsValid() {
		return s.IPRange
	}
	return s.Subnet
}

func (s *scope) info() *models.ScopeInfo {
	i := &models.ScopeInfo{
		ID: s.ID, Name: s.Name, Type: s.Type, PortGroup: s.PortGroup, Internal: s.Internal,
		Attachable: s.Attachable, Predefined: s.Predefined, Labels: maps.Clone(s.Labels),
		Options: maps.Clone(s.Options), DNS: slices.Clone(s.DNS), Trust: s.Trust, Created: s.Created,
	}
	if s.Subnet.IsValid() {
		i.Subnet = s.Subnet.String()
	}
	if s.Gateway.IsValid() {
		i.Gateway = s.Gateway.String()
	}
	if s.IPRange.IsValid() {
		i.IPRange = s.IPRange.String()
	}
	return i
}

// scopeState is the backend's view of its networks: the predefined ones and the user-defined ones loaded
// from the KV store once, then kept as this process writes them (one endpoint serves a VCH).
type scopeState struct {
	mu     sync.Mutex
	loaded bool
	byID   map[string]*scope
	order  []string // predefined first, then by creation
}

// predefinedID names a predefined network the same way on every start of the VCH.
func (b *Backend) predefinedID(kind, name string) string {
	sum := sha256.Sum256([]byte("vice network\x00" + b.cfg.VCHName + "\x00" + kind + "\x00" + name))
	return hex.EncodeToString(sum[:])
}

// predefinedScopes are the networks the configuration makes.
func (b *Backend) predefinedScopes() []*scope {
	n := b.cfg.Networks
	var out []*scope
	if n.BridgePortGroup != "" {
		sub := netip.PrefixFrom(n.BridgeRange.Addr(), bridgeSubnetBits)
		out = append(out, &scope{ID: b.predefinedID(scopeBridge, bridgeScopeName), Name: bridgeScopeName,
			Type: scopeBridge, PortGroup: n.BridgePortGroup, Subnet: sub, Gateway: sub.Addr().Next(), Predefined: true,
			Options: map[string]string{"com.docker.network.bridge.default_bridge": "true"}})
	}
	out = append(out,
		&scope{ID: b.predefinedID(scopeHost, hostScopeName), Name: hostScopeName, Type: scopeHost, Predefined: true},
		&scope{ID: b.predefinedID(scopeNull, noneScopeName), Name: noneScopeName, Type: scopeNull, Predefined: true})
	for _, c := range n.ContainerNetworks {
		s := &scope{ID: b.predefinedID(scopeContainer, c.Alias), Name: c.Alias, Type: scopeContainer,
			PortGroup: c.PortGroup, Predefined: true, DNS: slices.Clone(c.DNS), Trust: c.Trust, IPRange: c.IPRange}
		if c.Gateway.IsValid() {
			s.Subnet, s.Gateway = c.Gateway.Masked(), c.Gateway.Addr()
		}
		out = append(out, s)
	}
	return out
}

// loadScopes fills the state on first use: the predefined networks, then the KV records.
func (b *Backend) loadScopes(ctx context.Context) error {
	st := &b.scopes
	if st.loaded {
		return nil
	}
	byID := map[string]*scope{}
	var order []string
	for _, s := range b.predefinedScopes() {
		byID[s.ID], order = s, append(order, s.ID)
	}
	recs, err := b.ListValues(ctx, scopeKeyPrefix)
	if err != nil {
		return fmt.Errorf("read the networks: %w", err)
	}
	var user []*scope
	for _, r := range recs {
		var s scope
		if r.Value == nil || json.Unmarshal(*r.Value, &s) != nil || !scopeIDPattern.MatchString(s.ID) {
			b.log.Warn("a network record is damaged; ignored", "key", *r.Key)
			continue
		}
		if _, dup := byID[s.ID]; dup {
			continue
		}
		byID[s.ID] = &s
		user = append(user, &s)
	}
	sort.SliceStable(user, func(i, j int) bool { return user[i].Created < user[j].Created })
	for _, s := range user {
		order = append(order, s.ID)
	}
	st.byID, st.order, st.loaded = byID, order, true
	return nil
}

// allScopes returns the networks in order, loading them on first use.
func (b *Backend) allScopes(ctx context.Context) ([]*scope, error) {
	b.scopes.mu.Lock()
	defer b.scopes.mu.Unlock()
	if err := b.loadScopes(ctx); err != nil {
		return nil, err
	}
	out := make([]*scope, 0, len(b.scopes.order))
	for _, id := range b.scopes.order {
		out = append(out, b.scopes.byID[id])
	}
	return out, nil
}

// scopeByID returns one network.
func (b *Backend) scopeByID(ctx context.Context, id string) (*scope, error) {
	if !scopeIDPattern.MatchString(id) {
		return nil, fmt.Errorf("network ID %q is not 64 lowercase hex digits: %w", id, errdefs.ErrInvalid)
	}
	b.scopes.mu.Lock()
	defer b.scopes.mu.Unlock()
	if err := b.loadScopes(ctx); err != nil {
		return nil, err
	}
	s, ok := b.scopes.byID[id]
	if !ok {
		return nil, fmt.Errorf("network %s not found: %w", id, errdefs.ErrNotFound)
	}
	return s, nil
}

// ListScopes returns every network, the predefined ones first.
func (b *Backend) ListScopes(ctx context.Context) ([]*models.ScopeInfo, error) {
	all, err := b.allScopes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*models.ScopeInfo, 0, len(all))
	for _, s := range all {
		out = append(out, s.info())
	}
	return out, nil
}

// GetScope returns one network.
func (b *Backend) GetScope(ctx context.Context, id string) (*models.ScopeInfo, error) {
	s, err := b.scopeByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.info(), nil
}

// CreateScope creates a bridge network on the bridge port group.
func (b *Backend) CreateScope(ctx context.Context, spec *models.ScopeSpec) (*models.ScopeInfo, error) {
	if spec == nil || spec.Name == nil {
		return nil, fmt.Errorf("a network needs a name: %w", errdefs.ErrInvalid)
	}
	name := *spec.Name
	if !networkNamePattern.MatchString(name) {
		return nil, fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", name, errdefs.ErrInvalid)
	}
	if b.cfg.Networks.BridgePortGroup == "" {
		return nil, fmt.Errorf("network %s: this VCH has no bridge network to create networks on: %w", name, errdefs.ErrNotImplemented)
	}
	b.scopes.mu.Lock()
	defer b.scopes.mu.Unlock()
	if err := b.loadScopes(ctx); err != nil {
		return nil, err
	}
	for _, s := range b.scopes.byID {
		if s.Name == name {
			return nil, fmt.Errorf("network with name %s already exists: %w", name, errdefs.ErrConflict)
		}
	}
	s := &scope{ID: newScopeID(), Name: name, Type: scopeBridge, PortGroup: b.cfg.Networks.BridgePortGroup,
		Internal: spec.Internal, Attachable: spec.Attachable, Labels: spec.Labels, Options: spec.Options,
		Created: time.Now().UTC().Format(time.RFC3339Nano)}
	if err := b.planSubnet(s, spec); err != nil {
		return nil, err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode network %s: %w: %w", name, errdefs.ErrSystem, err)
	}
	key := scopeKeyPrefix + s.ID
	if _, err := b.PutValue(ctx, kvRecord(key, data)); err != nil {
		return nil, fmt.Errorf("record network %s: %w", name, err)
	}
	b.scopes.byID[s.ID] = s
	b.scopes.order = append(b.scopes.order, s.ID)
	b.log.Info("network created", "network", s.ID, "name", name, "subnet", s.Subnet, "gateway", s.Gateway)
	b.publishNetwork(s, "create", nil)
	b.net.scopesChanged()
	return s.info(), nil
}

// RemoveScope removes a user-defined network no container is on.
func (b *Backend) RemoveScope(ctx context.Context, id string) error {
	s, err := b.scopeByID(ctx, id)
	if err != nil {
		return err
	}
	if s.Predefined {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed: %w", s.Name, errdefs.ErrForbidden)
	}
	// The allocation lock: no container joins the network while it goes.
	b.ctr.createMu.Lock()
	defer b.ctr.createMu.Unlock()
	all, err := b.containerVMs(ctx)
	if err != nil {
		return err
	}
	busy := slices.ContainsFunc(all, func(c *containerVM) bool { return c.endpoint(id) != nil })
	for _, l := range b.ctr.creating { // a container being created on it
		busy = busy || slices.ContainsFunc(l.endpoints, func(ep endpointRecord) bool { return ep.Network == id })
	}
	if busy {
		return fmt.Errorf("error while removing network: network %s id %s has active endpoints: %w", s.Name, s.ID,
			errdefs.ErrForbidden)
	}
	if err := b.DeleteValue(ctx, scopeKeyPrefix+id); err != nil && !errdefs.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("remove network %s: %w", s.Name, err)
	}
	b.scopes.mu.Lock()
	delete(b.scopes.byID, id)
	b.scopes.order = slices.DeleteFunc(b.scopes.order, func(x string) bool { return x == id })
	b.scopes.mu.Unlock()
	b.log.Info("network removed", "network", id, "name", s.Name)
	b.publishNetwork(s, "destroy", nil)
	b.net.scopesChanged()
	return nil
}

// publishNetwork sends a network event, as Docker's: the network's name and type in its attributes.
func (b *Backend) publishNetwork(s *scope, action string, extra map[string]string) {
	attrs := map[string]string{"name": s.Name, "type": dockerDriver(s)}
	maps.Copy(attrs, extra)
	b.bus.Publish(events.New(EventTypeNetwork, action, s.ID, attrs))
}

// dockerDriver is the network's driver as Docker names it.
func dockerDriver(s *scope) string {
	switch s.Type {
	case scopeContainer:
		return "external"
	case scopeNull:
		return "null"
	}
	return s.Type
}

func kvRecord(key string, value []byte) *models.KeyValue {
	v := strfmt.Base64(value)
	return &models.KeyValue{Key: &key, Value: &v}
}

func newScopeID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
