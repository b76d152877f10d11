package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/core/internal/prunefilter"
	"github.com/vice-engine/vice/core/networks"
)

// Networks is the engine's network service.
func (e *Engine) Networks() *networks.Service { return e.networks }

func (e *Engine) newNetworks() {
	e.networks = networks.New(e.pl, networks.WithLogger(e.log.With(slog.String("component", "networks"))))
}

// PruneNetworks is POST /networks/prune with dockerd's filters (until, label, label!), followed by dockerd's
// "prune" event.
func (e *Engine) PruneNetworks(ctx context.Context, filters map[string][]string) (network.PruneReport, error) {
	f, err := prunefilter.Parse(filters, time.Now(), "until", "label", "label!")
	if err != nil {
		return network.PruneReport{}, err
	}
	rep, err := e.networks.Prune(ctx, f)
	if err != nil {
		return rep, err
	}
	e.pruneEvent(events.NetworkEventType, 0)
	return rep, nil
}
