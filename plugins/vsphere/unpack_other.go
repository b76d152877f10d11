//go:build !linux

package vsphere

import (
	"context"
	"fmt"
	"io"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// unpackTar needs Linux: the layer directories are overlayfs layers, with its whiteouts and xattrs.
func unpackTar(context.Context, io.Reader, string, *diffKeeping) (int64, error) {
	return 0, fmt.Errorf("unpacking layers into directories needs Linux: %w", errdefs.ErrNotImplemented)
}

// openLayerFiles needs Linux, as the unpack does.
func openLayerFiles(string, string) (layerFiles, error) {
	return nil, fmt.Errorf("reading layer directories needs Linux: %w", errdefs.ErrNotImplemented)
}
