package portlayer_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/vice-engine/vice/core/internal/pltest"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// pingOnly hides every optional interface of the backend it wraps.
type pingOnly struct{ b *pltest.Backend }

func (p pingOnly) Name() string                                      { return "ping-only" }
func (p pingOnly) Ping(ctx context.Context) error                    { return p.b.Ping(ctx) }
func (p pingOnly) Info(ctx context.Context) (*models.VCHInfo, error) { return p.b.Info(ctx) }

func (p pingOnly) handler(t *testing.T) http.Handler {
	h, err := sdk.NewHandler(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
