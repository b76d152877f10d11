package containers

import (
	"context"
	"errors"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// sizeRw is Docker's SizeRw of container id: the space its own writes take on its disk, as the backend
// measures it. A backend that cannot measure disks, or a container removed meanwhile, gives 0; any other
// failure is logged and gives 0 too, so that a listing never fails for one container's disk.
func (s *Service) sizeRw(ctx context.Context, id string) int64 {
	u, err := s.pl.ContainerUsage(ctx, id)
	switch {
	case err == nil:
		return u.SizeRw
	case errors.Is(err, errdefs.ErrNotImplemented), errors.Is(err, errdefs.ErrNotFound):
	default:
		s.log.Warn("failed to measure a container's disk", "container", id, "err", err)
	}
	return 0
}

// Size is GET /containers/{id}/json?size=1's SizeRw and SizeRootFs: the container's own writes, and those
// plus its image.
func (s *Service) Size(ctx context.Context, ref string) (rw, rootFs int64, err error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return 0, 0, err
	}
	sizes, err := s.images.Sizes(ctx)
	if err != nil {
		return 0, 0, err
	}
	rw = s.sizeRw(ctx, r.ID)
	return rw, sizes[r.ImageID] + rw, nil
}
