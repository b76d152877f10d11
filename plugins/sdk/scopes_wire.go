package sdk

import (
	"context"
	"fmt"

	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/scopes"
)

func wireScopes(api *operations.PortlayerAPI, b Backend) {
	sc, ok := b.(Scopes)
	if !ok {
		sc = noScopes{name: b.Name()}
	}
	api.ScopesListScopesHandler = scopes.ListScopesHandlerFunc(func(p scopes.ListScopesParams) middleware.Responder {
		list, err := sc.ListScopes(p.HTTPRequest.Context())
		if err != nil {
			return errorResponder(err)
		}
		if list == nil {
			list = []*models.ScopeInfo{}
		}
		return scopes.NewListScopesOK().WithPayload(list)
	})
	api.ScopesCreateScopeHandler = scopes.CreateScopeHandlerFunc(func(p scopes.CreateScopeParams) middleware.Responder {
		s, err := sc.CreateScope(p.HTTPRequest.Context(), p.Spec)
		if err != nil {
			return errorResponder(err)
		}
		return scopes.NewCreateScopeCreated().WithPayload(s)
	})
	api.ScopesGetScopeHandler = scopes.GetScopeHandlerFunc(func(p scopes.GetScopeParams) middleware.Responder {
		s, err := sc.GetScope(p.HTTPRequest.Context(), p.Scope)
		if err != nil {
			return errorResponder(err)
		}
		return scopes.NewGetScopeOK().WithPayload(s)
	})
	api.ScopesRemoveScopeHandler = scopes.RemoveScopeHandlerFunc(func(p scopes.RemoveScopeParams) middleware.Responder {
		if err := sc.RemoveScope(p.HTTPRequest.Context(), p.Scope); err != nil {
			return errorResponder(err)
		}
		return scopes.NewRemoveScopeNoContent()
	})
	api.ScopesConnectContainerHandler = scopes.ConnectContainerHandlerFunc(func(p scopes.ConnectContainerParams) middleware.Responder {
		i, err := sc.ConnectContainer(p.HTTPRequest.Context(), p.ID, p.Endpoint)
		if err != nil {
			return errorResponder(err)
		}
		return scopes.NewConnectContainerOK().WithPayload(i)
	})
	api.ScopesDisconnectContainerHandler = scopes.DisconnectContainerHandlerFunc(func(p scopes.DisconnectContainerParams) middleware.Responder {
		i, err := sc.DisconnectContainer(p.HTTPRequest.Context(), p.ID, p.Scope)
		if err != nil {
			return errorResponder(err)
		}
		return scopes.NewDisconnectContainerOK().WithPayload(i)
	})
}

// noScopes answers every scopes operation of a backend without networks with the not_implemented class.
type noScopes struct{ name string }

func (n noScopes) err() error {
	return fmt.Errorf("networks of backend %s: %w", n.name, errdefs.ErrNotImplemented)
}

func (n noScopes) ListScopes(context.Context) ([]*models.ScopeInfo, error) { return nil, n.err() }
func (n noScopes) CreateScope(context.Context, *models.ScopeSpec) (*models.ScopeInfo, error) {
	return nil, n.err()
}
func (n noScopes) GetScope(context.Context, string) (*models.ScopeInfo, error) { return nil, n.err() }
func (n noScopes) RemoveScope(context.Context, string) error                   { return n.err() }
func (n noScopes) ConnectContainer(context.Context, string, *models.Endpoint) (*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noScopes) DisconnectContainer(context.Context, string, string) (*models.ContainerInfo, error) {
	return nil, n.err()
}
