//go:build !linux

package vsphere

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// The image store's disk contents are written where the endpoint runs: Linux (a VM, or the simulator's
// host). Elsewhere the package builds, for its other parts, and these say why they cannot run.
var errNeedsLinux = fmt.Errorf("the endpoint's disk work needs Linux: %w", errdefs.ErrUnavailable)

func unpackTar(context.Context, io.Reader, string, *diffKeeping) (int64, error) {
	return 0, errNeedsLinux
}

func unpackTarAt(context.Context, io.Reader, int, *diffKeeping, bool) (int64, error) {
	return 0, errNeedsLinux
}

func openLayerFiles(string, string) (layerFiles, error) { return nil, errNeedsLinux }

func newFDLayerFiles(int, func(int) (*os.File, error)) layerFiles { return nil }

func removeAllAt(int, string) error { return errNeedsLinux }

type mountedFS struct{}

func mountDisk(string, bool) (*mountedFS, error) { return nil, errNeedsLinux }
func (*mountedFS) fd() int                       { return -1 }
func (*mountedFS) close() error                  { return errNeedsLinux }
