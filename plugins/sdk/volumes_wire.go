package sdk

import (
	"context"
	"fmt"

	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/storage"
)

func wireVolumes(api *operations.PortlayerAPI, b Backend) {
	vs, ok := b.(Volumes)
	if !ok {
		vs = noVolumes{name: b.Name()}
	}
	api.StorageListVolumeStoresHandler = storage.ListVolumeStoresHandlerFunc(func(p storage.ListVolumeStoresParams) middleware.Responder {
		list, err := vs.ListVolumeStores(p.HTTPRequest.Context())
		if err != nil {
			return errorResponder(err)
		}
		if list == nil {
			list = []*models.VolumeStore{}
		}
		return storage.NewListVolumeStoresOK().WithPayload(list)
	})
	api.StorageListVolumesHandler = storage.ListVolumesHandlerFunc(func(p storage.ListVolumesParams) middleware.Responder {
		list, err := vs.ListVolumes(p.HTTPRequest.Context(), p.Usage != nil && *p.Usage)
		if err != nil {
			return errorResponder(err)
		}
		if list == nil {
			list = []*models.VolumeInfo{}
		}
		return storage.NewListVolumesOK().WithPayload(list)
	})
	api.StorageCreateVolumeHandler = storage.CreateVolumeHandlerFunc(func(p storage.CreateVolumeParams) middleware.Responder {
		v, err := vs.CreateVolume(p.HTTPRequest.Context(), p.Spec)
		if err != nil {
			return errorResponder(err)
		}
		return storage.NewCreateVolumeCreated().WithPayload(v)
	})
	api.StorageGetVolumeHandler = storage.GetVolumeHandlerFunc(func(p storage.GetVolumeParams) middleware.Responder {
		v, err := vs.GetVolume(p.HTTPRequest.Context(), p.Name, p.Usage != nil && *p.Usage)
		if err != nil {
			return errorResponder(err)
		}
		return storage.NewGetVolumeOK().WithPayload(v)
	})
	api.StorageRemoveVolumeHandler = storage.RemoveVolumeHandlerFunc(func(p storage.RemoveVolumeParams) middleware.Responder {
		if err := vs.RemoveVolume(p.HTTPRequest.Context(), p.Name); err != nil {
			return errorResponder(err)
		}
		return storage.NewRemoveVolumeNoContent()
	})
}

type noVolumes struct{ name string }

func (n noVolumes) err() error {
	return fmt.Errorf("volumes of backend %s: %w", n.name, errdefs.ErrNotImplemented)
}
func (n noVolumes) ListVolumeStores(context.Context) ([]*models.VolumeStore, error) {
	return nil, n.err()
}
func (n noVolumes) ListVolumes(context.Context, bool) ([]*models.VolumeInfo, error) {
	return nil, n.err()
}
func (n noVolumes) CreateVolume(context.Context, *models.VolumeSpec) (*models.VolumeInfo, error) {
	return nil, n.err()
}
func (n noVolumes) GetVolume(context.Context, string, bool) (*models.VolumeInfo, error) {
	return nil, n.err()
}
func (n noVolumes) RemoveVolume(context.Context, string) error { return n.err() }
