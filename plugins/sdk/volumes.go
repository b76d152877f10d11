package sdk

import (
	"context"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// Volumes manages the volume stores of a VCH (vice-machine --volume-store) and their volumes. A volume lives
// in its store, not in the VCH: a VCH deleted without its volumes leaves them, and another VCH given the same
// store lists them again. Names are unique across the VCH's stores; a malformed one is errdefs.ErrInvalid.
type Volumes interface {
	// ListVolumeStores returns the VCH's volume stores, by label.
	ListVolumeStores(ctx context.Context) ([]*models.VolumeStore, error)
	// ListVolumes returns the volumes of every store, by name; with usage each has its UsedBytes measured
	// (otherwise -1).
	ListVolumes(ctx context.Context, usage bool) ([]*models.VolumeInfo, error)
	// CreateVolume makes a volume in spec.Store ("" is "default"): a name in use is errdefs.ErrConflict, an
	// unknown store errdefs.ErrNotFound, a capacity or filesystem the store cannot give errdefs.ErrInvalid.
	CreateVolume(ctx context.Context, spec *models.VolumeSpec) (*models.VolumeInfo, error)
	// GetVolume returns one volume, or an errdefs.ErrNotFound error; usage as in ListVolumes.
	GetVolume(ctx context.Context, name string, usage bool) (*models.VolumeInfo, error)
	// RemoveVolume removes a volume and its data; one a containerVM has is errdefs.ErrConflict, a missing one
	// errdefs.ErrNotFound.
	RemoveVolume(ctx context.Context, name string) error
}
