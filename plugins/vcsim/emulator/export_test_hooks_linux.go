package emulator

import "context"

// ExportedDisk is a disk exported as a block device, for tests outside the package that read a chain the way
// the emulator does (ExportDiskForTest).
type ExportedDisk struct{ x *diskExport }

// ExportDiskForTest exports the disk whose local descriptor is desc at file, as block-disk mode does.
func ExportDiskForTest(ctx context.Context, desc, file string, readOnly bool) (*ExportedDisk, error) {
	x, err := exportDisk(ctx, desc, file, readOnly)
	if err != nil {
		return nil, err
	}
	return &ExportedDisk{x: x}, nil
}

// Loop is the disk's loop device.
func (d *ExportedDisk) Loop() string { return d.x.loop }

// Close takes the device away.
func (d *ExportedDisk) Close() error { return d.x.close() }
