package sdk

import (
	"context"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// Scopes manages the VCH's networks (DESIGN §5a) and the containers' places on them. Bridge networks ride the
// VCH's bridge port group behind the endpoint, which gives out their addresses, serves their DNS names and
// publishes ports; container networks are port groups of their own, made by the VCH's configuration. The
// networks' records and the containers' endpoints live in vSphere (the KV store, the containerVMs'
// extraConfig), so a restarted backend knows them all. Every network ID is 64 hex; a malformed one is
// errdefs.ErrInvalid, an unknown one errdefs.ErrNotFound.
type Scopes interface {
	// ListScopes returns every network, the predefined ones first, then the others oldest first.
	ListScopes(ctx context.Context) ([]*models.ScopeInfo, error)
	// CreateScope creates a bridge network. A name in use is errdefs.ErrConflict; a subnet that overlaps
	// another network's, or a gateway or range outside the subnet, errdefs.ErrForbidden (Docker's classes);
	// a malformed prefix or address errdefs.ErrInvalid.
	CreateScope(ctx context.Context, spec *models.ScopeSpec) (*models.ScopeInfo, error)
	// GetScope returns one network.
	GetScope(ctx context.Context, id string) (*models.ScopeInfo, error)
	// RemoveScope removes a network; a predefined one, or one a container is on, is errdefs.ErrForbidden.
	RemoveScope(ctx context.Context, id string) error
	// ConnectContainer puts container id on the endpoint's network (hot-adding a NIC when it runs). A
	// container already on it is errdefs.ErrConflict; an address in use or outside the subnet
	// errdefs.ErrForbidden; the host and null networks errdefs.ErrInvalid.
	ConnectContainer(ctx context.Context, id string, ep *models.Endpoint) (*models.ContainerInfo, error)
	// DisconnectContainer takes container id off network scope (hot-removing its NIC when it runs); a
	// container not on it is errdefs.ErrNotFound.
	DisconnectContainer(ctx context.Context, id, scope string) (*models.ContainerInfo, error)
}
