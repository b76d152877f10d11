package portlayer

import (
	"context"

	"github.com/vice-engine/vice/swagger/gen/client/storage"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// ListVolumeStores returns the VCH's volume stores.
func (c *Client) ListVolumeStores(ctx context.Context) ([]*models.VolumeStore, error) {
	ok, err := c.api.Storage.ListVolumeStoresContext(ctx, storage.NewListVolumeStoresParams())
	if err != nil {
		return nil, classify("list volume stores", err)
	}
	return ok.Payload, nil
}

// ListVolumes returns the volumes of every store; with usage their used bytes are measured.
func (c *Client) ListVolumes(ctx context.Context, usage bool) ([]*models.VolumeInfo, error) {
	p := storage.NewListVolumesParams()
	if usage {
		p.SetUsage(&usage)
	}
	ok, err := c.api.Storage.ListVolumesContext(ctx, p)
	if err != nil {
		return nil, classify("list volumes", err)
	}
	return ok.Payload, nil
}

// CreateVolume makes a volume; a name in use is errdefs.ErrConflict, an unknown store errdefs.ErrNotFound.
func (c *Client) CreateVolume(ctx context.Context, spec *models.VolumeSpec) (*models.VolumeInfo, error) {
	ok, err := c.api.Storage.CreateVolumeContext(ctx, storage.NewCreateVolumeParams().WithSpec(spec))
	if err != nil {
		return nil, classify("create volume", err)
	}
	return ok.Payload, nil
}

// GetVolume returns one volume; a missing one is errdefs.ErrNotFound.
func (c *Client) GetVolume(ctx context.Context, name string, usage bool) (*models.VolumeInfo, error) {
	p := storage.NewGetVolumeParams().WithName(name)
	if usage {
		p.SetUsage(&usage)
	}
	ok, err := c.api.Storage.GetVolumeContext(ctx, p)
	if err != nil {
		return nil, classify("get volume", err)
	}
	return ok.Payload, nil
}

// RemoveVolume removes a volume; one a containerVM has is errdefs.ErrConflict.
func (c *Client) RemoveVolume(ctx context.Context, name string) error {
	_, err := c.api.Storage.RemoveVolumeContext(ctx, storage.NewRemoveVolumeParams().WithName(name))
	return classify("remove volume", err)
}
