package engine

import (
	"sync"
	"sync/atomic"

	"github.com/moby/moby/api/types/events"
)

// eventLog keeps the latest events for replay (`--since`) and fans new ones out to subscribers.
type eventLog struct {
	size    int
	mu      sync.Mutex
	past    []events.Message // oldest first, at most size
	subs    map[*subscriber]struct{}
	running atomic.Int32 // how many Run loops feed the log
}

type subscriber struct {
	ch     chan events.Message
	filter EventFilter
}

func newEventLog(size int) *eventLog {
	return &eventLog{size: size, subs: map[*subscriber]struct{}{}}
}

// publish records m and hands it to every matching subscriber; one that has fallen 256 events behind
// misses it rather than stalling the backend's stream.
func (l *eventLog) publish(m events.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size > 0 {
		if len(l.past) >= l.size {
			l.past = append(l.past[:0], l.past[len(l.past)-l.size+1:]...)
		}
		l.past = append(l.past, m)
	}
	for s := range l.subs {
		if !s.filter.Match(m) {
			continue
		}
		select {
		case s.ch <- m:
		default:
		}
	}
}

// subscribe returns the recorded events that match f, then registers for new ones. replay is false when
// the caller wants no history (Docker replays only when since or until is given).
func (l *eventLog) subscribe(f EventFilter, replay bool, keep func(events.Message) bool) ([]events.Message, *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var past []events.Message
	if replay {
		for _, m := range l.past {
			if f.Match(m) && keep(m) {
				past = append(past, m)
			}
		}
	}
	s := &subscriber{ch: make(chan events.Message, 256), filter: f}
	l.subs[s] = struct{}{}
	return past, s
}

func (l *eventLog) unsubscribe(s *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, s)
}

func (l *eventLog) listeners() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}
