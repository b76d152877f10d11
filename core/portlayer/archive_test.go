package portlayer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestArchiveNotImplemented(t *testing.T) {
	// A backend without the archive group answers not_implemented to every operation of it.
	c := portlayer.New(plugintest.Name, launchPingOnly(t))
	id := strings.Repeat("a", 64)
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"stat": func() error { _, err := c.StatPath(ctx, id, "/"); return err },
		"read": func() error { _, err := c.ReadArchive(ctx, id, "/"); return err },
		"write": func() error {
			return c.WriteArchive(ctx, id, "/", sdk.WriteArchiveOptions{}, strings.NewReader("not a tar"))
		},
		"changes": func() error { _, err := c.ContainerChanges(ctx, id); return err },
		"diff":    func() error { _, err := c.ReadContainerDiff(ctx, id); return err },
		"export":  func() error { _, err := c.ExportContainer(ctx, id); return err },
		"usage":   func() error { _, err := c.ContainerUsage(ctx, id); return err },
	} {
		if err := call(); !errors.Is(err, errdefs.ErrNotImplemented) {
			t.Errorf("%s = %v (class %s), want not implemented", name, err, errdefs.Class(err))
		}
	}
}
