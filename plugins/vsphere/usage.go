package vsphere

import (
	"context"
	"fmt"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/models"
)

var _ sdk.DiskUsage = (*Backend)(nil)

// ContainerUsage measures the space container id's own writes take on its disk, read from the disk whether
// the container runs or not (the contents as of each read).
func (b *Backend) ContainerUsage(ctx context.Context, id string) (*models.ContainerUsage, error) {
	c, d, err := b.openContainerDisk(ctx, id, false)
	if err != nil {
		return nil, fmt.Errorf("disk usage of container %s: %w", id, err)
	}
	defer d.Close()
	n, err := d.Usage(ctx, guestConfigOf(c).GuestFiles())
	if err != nil {
		return nil, fmt.Errorf("disk usage of container %s: %w", id, fsError(err))
	}
	return &models.ContainerUsage{SizeRw: n}, nil
}
