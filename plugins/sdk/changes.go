package sdk

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/events"
)

// ChangesHeader is the header of every answer but an upgrade's of a backend with a change clock: "<epoch>
// <start> <end>", the clock when the request began and when its answer's head was written (GET /changes says
// more).
const ChangesHeader = "Vice-Changes"

// ChangeReporter is a backend with a change clock, which it moves on every change it learns of by itself
// (one that no request to it made: a container exiting, a guest's word, an administrator's change seen by
// a watch). The SDK moves it around every request that is not a GET or HEAD, stamps every answer but an
// upgrade's with it and streams it on GET /changes, so that a client can keep answers for as long as the clock stands still.
type ChangeReporter interface {
	Changes() *Changes
}

// Changes is a change clock: a counter that only grows, in an epoch of its own. The zero value is not
// ready: use NewChanges.
type Changes struct {
	epoch string
	seq   atomic.Uint64

	mu    sync.Mutex
	moved chan struct{} // closed, and replaced, at every Bump
}

// NewChanges returns a clock at zero in a new epoch.
func NewChanges() *Changes {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Changes{epoch: hex.EncodeToString(b[:]), moved: make(chan struct{})}
}

// Bump moves the clock: whatever was answered before may have changed.
func (c *Changes) Bump() {
	c.seq.Add(1)
	c.mu.Lock()
	close(c.moved)
	c.moved = make(chan struct{})
	c.mu.Unlock()
}

// Now is the clock's epoch and value.
func (c *Changes) Now() (epoch string, seq uint64) { return c.epoch, c.seq.Load() }

// next is the clock's value with a channel closed at the next Bump after it.
func (c *Changes) next() (uint64, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq.Load(), c.moved
}

// Stamp is the value of a ChangesHeader.
type Stamp struct {
	Epoch      string
	Start, End uint64
}

// String is the header's text.
func (s Stamp) String() string {
	return s.Epoch + " " + strconv.FormatUint(s.Start, 10) + " " + strconv.FormatUint(s.End, 10)
}

// ParseStamp reads a ChangesHeader; ok is false when there is none or it is not one.
func ParseStamp(v string) (s Stamp, ok bool) {
	f := strings.Fields(v)
	if len(f) != 3 || f[0] == "" {
		return Stamp{}, false
	}
	start, err1 := strconv.ParseUint(f[1], 10, 64)
	end, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || end < start {
		return Stamp{}, false
	}
	return Stamp{Epoch: f[0], Start: start, End: end}, true
}

// stampChanges moves c around every request to h that is not a GET or HEAD, and stamps every answer but an
// upgrade's.
func stampChanges(h http.Handler, c *Changes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads := r.Method == http.MethodGet || r.Method == http.MethodHead
		if !reads {
			c.Bump()
			defer c.Bump() // for an upgraded exchange, the end of its stream; the head's stamp covers the rest
		}
		if r.Header.Get("Upgrade") != "" {
			// The exchange becomes a stream of the transport's (Hijack), whose head the hijack writes: its
			// writer is left as it is, and it has no stamp.
			h.ServeHTTP(w, r)
			return
		}
		epoch, start := c.Now()
		h.ServeHTTP(&stampedWriter{ResponseWriter: w, changes: c, stamp: Stamp{Epoch: epoch, Start: start}, bump: !reads}, r)
	})
}

// stampedWriter writes the ChangesHeader with the head of the answer.
type stampedWriter struct {
	http.ResponseWriter
	changes *Changes
	stamp   Stamp
	bump    bool // a request that changes things: its answer is written after its change is done
	wrote   bool
}

func (w *stampedWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		if w.bump {
			w.changes.Bump()
		}
		_, w.stamp.End = w.changes.Now()
		w.ResponseWriter.Header().Set(ChangesHeader, w.stamp.String())
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *stampedWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *stampedWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	flush(w.ResponseWriter)
}

// Unwrap is for http.ResponseController.
func (w *stampedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func wireChanges(api *operations.PortlayerAPI, b Backend) {
	api.EventsGetChangesHandler = events.GetChangesHandlerFunc(func(p events.GetChangesParams) middleware.Responder {
		cr, ok := b.(ChangeReporter)
		if !ok || cr.Changes() == nil {
			return errorResponder(fmt.Errorf("change clock of backend %s: %w", b.Name(), errdefs.ErrNotImplemented))
		}
		c := cr.Changes()
		ctx := p.HTTPRequest.Context()
		return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			enc := json.NewEncoder(w)
			sent := false
			var last uint64
			for {
				// Only the latest value is sent: a reader that falls behind skips the values in between.
				seq, moved := c.next()
				if !sent || seq != last {
					if enc.Encode(&models.Changes{Epoch: &c.epoch, Seq: &seq}) != nil {
						return
					}
					flush(w)
					sent, last = true, seq
				}
				select {
				case <-ctx.Done():
					return
				case <-moved:
				}
			}
		})
	})
}
