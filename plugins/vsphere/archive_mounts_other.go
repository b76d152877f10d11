//go:build !linux

package vsphere

import (
	"context"

	"github.com/vice-engine/vice/tether/archive"
)

func (b *Backend) openVolumeTree(context.Context, *volumeFile, bool) (*archive.FS, func(), error) {
	return nil, nil, errNeedsLinux
}

func openDirTree(string) (*archive.FS, func(), error) { return nil, nil, errNeedsLinux }
