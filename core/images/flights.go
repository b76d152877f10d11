package images

import (
	"context"
	"sync"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// flights are the layers being written to the port layer right now, by chain ID, so that two pulls (or a
// pull and a load) sharing a layer fetch and write it once.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	info *models.LayerInfo
	err  error
}

// claim returns the flight of chain and whether the caller owns it (and must finish it).
func (f *flights) claim(chain string) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[chain]; ok {
		return fl, false
	}
	fl := &flight{done: make(chan struct{})}
	f.m[chain] = fl
	return fl, true
}

// finish ends the owner's flight of chain with its outcome.
func (f *flights) finish(chain string, fl *flight, info *models.LayerInfo, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[chain] == fl {
		delete(f.m, chain)
	}
	fl.info, fl.err = info, err
	close(fl.done)
}

// wait blocks until fl ends or ctx is cancelled.
func (fl *flight) wait(ctx context.Context) (*models.LayerInfo, error) {
	select {
	case <-fl.done:
		return fl.info, fl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
