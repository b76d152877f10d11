package portlayer

import (
	"context"

	"github.com/vice-engine/vice/swagger/gen/client/scopes"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// ListScopes returns the VCH's networks, the predefined ones first.
func (c *Client) ListScopes(ctx context.Context) ([]*models.ScopeInfo, error) {
	ok, err := c.api.Scopes.ListScopesContext(ctx, scopes.NewListScopesParams())
	if err != nil {
		return nil, classify("list networks", err)
	}
	return ok.Payload, nil
}

// CreateScope creates a bridge network; a name in use is errdefs.ErrConflict, an overlapping subnet
// errdefs.ErrForbidden.
func (c *Client) CreateScope(ctx context.Context, spec *models.ScopeSpec) (*models.ScopeInfo, error) {
	ok, err := c.api.Scopes.CreateScopeContext(ctx, scopes.NewCreateScopeParams().WithSpec(spec))
	if err != nil {
		return nil, classify("create network", err)
	}
	return ok.Payload, nil
}

// GetScope returns one network by its full ID; a missing one is errdefs.ErrNotFound.
func (c *Client) GetScope(ctx context.Context, id string) (*models.ScopeInfo, error) {
	ok, err := c.api.Scopes.GetScopeContext(ctx, scopes.NewGetScopeParams().WithScope(id))
	if err != nil {
		return nil, classify("get network", err)
	}
	return ok.Payload, nil
}

// RemoveScope removes a network; a predefined one or one in use is errdefs.ErrForbidden.
func (c *Client) RemoveScope(ctx context.Context, id string) error {
	_, err := c.api.Scopes.RemoveScopeContext(ctx, scopes.NewRemoveScopeParams().WithScope(id))
	return classify("remove network", err)
}

// ConnectContainer puts container id on the endpoint's network, hot-adding a NIC when it runs.
func (c *Client) ConnectContainer(ctx context.Context, id string, ep *models.Endpoint) (*models.ContainerInfo, error) {
	p := scopes.NewConnectContainerParamsWithTimeout(0).WithID(id).WithEndpoint(ep)
	ok, err := c.api.Scopes.ConnectContainerContext(ctx, p)
	if err != nil {
		return nil, classify("connect container", err)
	}
	return ok.Payload, nil
}

// DisconnectContainer takes container id off network scope, hot-removing its NIC when it runs.
func (c *Client) DisconnectContainer(ctx context.Context, id, scope string) (*models.ContainerInfo, error) {
	p := scopes.NewDisconnectContainerParamsWithTimeout(0).WithID(id).WithScope(scope)
	ok, err := c.api.Scopes.DisconnectContainerContext(ctx, p)
	if err != nil {
		return nil, classify("disconnect container", err)
	}
	return ok.Payload, nil
}
