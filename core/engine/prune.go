package engine

import (
	"context"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/volume"

	"github.com/vice-engine/vice/core/internal/prunefilter"
)

// PruneContainers is POST /containers/prune with dockerd's filters (until, label, label!), followed by
// dockerd's "prune" event.
func (e *Engine) PruneContainers(ctx context.Context, filters map[string][]string) (container.PruneReport, error) {
	f, err := prunefilter.Parse(filters, time.Now(), "until", "label", "label!")
	if err != nil {
		return container.PruneReport{}, err
	}
	rep, err := e.containers.Prune(ctx, f)
	if err != nil {
		return rep, err
	}
	e.pruneEvent(events.ContainerEventType, rep.SpaceReclaimed)
	return rep, nil
}

// PruneImages is POST /images/prune with dockerd's filters (dangling, until, label, label!); the image
// store publishes the "prune" event.
func (e *Engine) PruneImages(ctx context.Context, filters map[string][]string) (image.PruneReport, error) {
	f, err := prunefilter.Parse(filters, time.Now(), "dangling", "until", "label", "label!")
	if err != nil {
		return image.PruneReport{}, err
	}
	return e.images.Prune(ctx, f)
}

// PruneVolumes is POST /volumes/prune with dockerd's filters (label, label!, all); from API 1.42 only
// anonymous volumes unless all, as dockerd.
func (e *Engine) PruneVolumes(ctx context.Context, filters map[string][]string, anonymousOnly bool) (volume.PruneReport, error) {
	rep, err := e.volumes.Prune(ctx, filters, anonymousOnly)
	if err != nil {
		return rep, err
	}
	e.pruneEvent(events.VolumeEventType, rep.SpaceReclaimed)
	return rep, nil
}

func (e *Engine) pruneEvent(typ events.Type, reclaimed uint64) {
	now := time.Now()
	e.events.publish(events.Message{
		Type: typ, Action: events.ActionPrune, Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano(),
		Actor: events.Actor{Attributes: map[string]string{"reclaimed": strconv.FormatUint(reclaimed, 10)}},
	})
}
