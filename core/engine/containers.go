package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/core/volumes"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Volumes is the engine's volume service.
func (e *Engine) Volumes() *volumes.Service { return e.volumes }

// Containers is the engine's container service.
func (e *Engine) Containers() *containers.Service { return e.containers }

// newContainers builds the container service over the image store, and tells the store which containers
// use an image (deleting an image in use is Docker's conflict).
func (e *Engine) newContainers() {
	// The volumes learn their users from the containers, which mount the volumes.
	e.volumes = volumes.New(e.pl, func(ctx context.Context) (map[string][]string, error) {
		return e.containers.VolumeUsers(ctx)
	}, e.log.With(slog.String("component", "volumes")))
	e.containers = containers.New(e.pl, e.images, containers.WithDNS(e.dns), containers.WithNetworks(e.networks), containers.WithVolumes(e.volumes),
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
