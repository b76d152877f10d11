package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// EventsOptions selects the events of one `docker events` request.
type EventsOptions struct {
	// Since replays recorded events from this time on; zero replays nothing unless Until is set.
	Since time.Time
	// Until ends the stream at this time; an Until in the past returns recorded events only.
	Until time.Time
	// Filter keeps matching events only.
	Filter EventFilter
}

// backendEventTypes are the backend's events that are Docker's to show; the port layer's own (such as its kv
// records' "put" and "delete") are not, so the engine does not ask for them.
var backendEventTypes = []string{string(events.ContainerEventType), string(events.ImageEventType),
	string(events.NetworkEventType), string(events.VolumeEventType)}

// Run follows the backend's event stream into the engine's event log until ctx is cancelled, reconnecting
// whenever the stream ends or the plugin is unavailable (it may be restarting).
func (e *Engine) Run(ctx context.Context) error {
	e.events.running.Add(1)
	defer e.events.running.Add(-1)
	backoff := 100 * time.Millisecond
	for {
		ch, err := e.pl.Events(ctx, backendEventTypes)
		if err == nil {
			backoff = 100 * time.Millisecond
			e.recoverContainers(ctx)
			for ev := range ch {
				m := toMessage(ev)
				e.events.publish(m)
				e.containers.Observe(m)
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err == nil:
			e.log.Debug("backend event stream ended; reconnecting", "backend", e.Backend())
		case errors.Is(err, errdefs.ErrNotImplemented):
			e.log.Debug("backend serves no events", "backend", e.Backend(), "err", err)
			backoff = 30 * time.Second
		default:
			e.log.Debug("backend event stream unavailable", "backend", e.Backend(), "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// Events streams the Docker events o selects: recorded ones first, then new ones as they happen. The channel
// closes when ctx is cancelled or Until passes.
func (e *Engine) Events(ctx context.Context, o EventsOptions) (<-chan events.Message, error) {
	if !o.Until.IsZero() && !o.Since.IsZero() && o.Until.Before(o.Since) {
		return nil, fmt.Errorf("`since` time (%s) cannot be after `until` time (%s): %w", o.Since, o.Until, errdefs.ErrInvalid)
	}
	if e.events.running.Load() == 0 {
		return nil, fmt.Errorf("the engine is not following the backend's events: %w", errdefs.ErrUnavailable)
	}
	inRange := func(m events.Message) bool {
		t := time.Unix(0, m.TimeNano)
		return (o.Since.IsZero() || !t.Before(o.Since)) && (o.Until.IsZero() || !t.After(o.Until))
	}
	past, sub := e.events.subscribe(o.Filter, !o.Since.IsZero() || !o.Until.IsZero(), inRange)
	out := make(chan events.Message)
	go func() {
		defer close(out)
		defer e.events.unsubscribe(sub)
		var timeout <-chan time.Time
		if !o.Until.IsZero() {
			d := time.Until(o.Until)
			if d <= 0 {
				d = 0
			}
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		for _, m := range past {
			select {
			case out <- m:
			case <-ctx.Done():
				return
			}
		}
		if !o.Until.IsZero() && !o.Until.After(time.Now()) {
			return
		}
		for {
			select {
			case m := <-sub.ch:
				if !inRange(m) {
					continue
				}
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			case <-timeout:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// toMessage is the one conversion of a port-layer event into a Docker event.
func toMessage(ev *models.Event) events.Message {
	var nanos int64
	if ev.Time != nil {
		nanos = *ev.Time
	}
	m := events.Message{
		Actor:    events.Actor{ID: ev.ID, Attributes: ev.Attributes},
		Scope:    "local",
		Time:     nanos / int64(time.Second),
		TimeNano: nanos,
	}
	if ev.Type != nil {
		m.Type = events.Type(*ev.Type)
	}
	if ev.Action != nil {
		m.Action = events.Action(*ev.Action)
	}
	if m.Actor.Attributes == nil {
		m.Actor.Attributes = map[string]string{}
	}
	return m
}
