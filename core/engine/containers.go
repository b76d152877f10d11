package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Containers is the engine's container service.
func (e *Engine) Containers() *containers.Service { return e.containers }

// newContainers builds the container service over the image store, and tells the store which containers
// use an image (deleting an image in use is Docker's conflict).
func (e *Engine) newContainers() {
	e.containers = containers.New(e.pl, e.images, containers.WithDNS(e.dns), containers.WithNetworks(e.networks),
		containers.WithLogger(e.log.With(slog.String("component", "containers"))), containers.WithEvents(e.containerEvent))
	e.images.SetUsers(e.containers.Users)
}

// containerEvent reports a container event of the engine's own (the backend reports the others).
func (e *Engine) containerEvent(action, id string, attrs map[string]string) {
	now := time.Now()
	e.events.publish(events.Message{
		Type: events.ContainerEventType, Action: events.Action(action), Actor: events.Actor{ID: id, Attributes: attrs},
		Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano(),
	})
}

// recoverContainers finishes what the backend's events would have triggered while nobody followed them
// (auto-removal of containers that exited meanwhile). The events that follow are handled as they come.
func (e *Engine) recoverContainers(ctx context.Context) {
	if err := e.containers.Recover(ctx); err != nil && !errors.Is(err, errdefs.ErrNotImplemented) {
		e.log.Debug("container recovery", "backend", e.Backend(), "err", err)
	}
}
