package events

import (
	"context"
	"sync"
	"time"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// DefaultBuffer is the number of events a subscriber may fall behind before events are dropped for it.
const DefaultBuffer = 256

// Bus fans published events out to subscribers. The zero value is not usable; call NewBus.
type Bus struct {
	buffer int

	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	dropped uint64
}

type subscriber struct {
	types map[string]bool // nil: every type
	ch    chan *models.Event
}

// NewBus returns a bus whose subscribers each buffer up to buffer events (DefaultBuffer when buffer <= 0).
func NewBus(buffer int) *Bus {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Bus{buffer: buffer, subs: make(map[*subscriber]struct{})}
}

// Publish delivers ev to every subscriber that wants its type. It never blocks: a subscriber whose buffer is
// full misses ev. A zero Time is stamped with the current time, so subscribers always see when it happened.
func (b *Bus) Publish(ev *models.Event) {
	if ev == nil || ev.Type == nil {
		return
	}
	if ev.Time == nil || *ev.Time == 0 {
		now := time.Now().UnixNano()
		ev.Time = &now
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.types != nil && !s.types[*ev.Type] {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			b.dropped++
		}
	}
}

// Subscribe returns a channel of the events of the given types (all when empty), published from now on until
// ctx is cancelled; then the channel is closed. Subscribers share event values and must not modify them.
func (b *Bus) Subscribe(ctx context.Context, types []string) <-chan *models.Event {
	s := &subscriber{ch: make(chan *models.Event, b.buffer)}
	if len(types) > 0 {
		s.types = make(map[string]bool, len(types))
		for _, t := range types {
			s.types[t] = true
		}
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	go func() {
		<-ctx.Done()
		// Removing under the lock guarantees no Publish is sending on the channel when it is closed.
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		close(s.ch)
	}()
	return s.ch
}

// Dropped counts the deliveries missed by slow subscribers since the bus was made.
func (b *Bus) Dropped() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Subscribers is the number of live subscriptions.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// New builds an event of typ and action about id, stamped with the current time.
func New(typ, action, id string, attributes map[string]string) *models.Event {
	now := time.Now().UnixNano()
	return &models.Event{Type: &typ, Action: &action, ID: id, Attributes: attributes, Time: &now}
}
