package dockerapi

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// legacyMessage carries the status, id and from fields that API versions up to 1.51 still send for
// container and image events.
type legacyMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	events.Message
}

// events streams Docker events as JSON lines until the client leaves or `until` passes.
func (a *API) events(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := eventTime("since", q.Get("since"))
	if err != nil {
		return err
	}
	until, err := eventTime("until", q.Get("until"))
	if err != nil {
		return err
	}
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	ch, err := a.eng.Events(r.Context(), engine.EventsOptions{Since: since, Until: until, Filter: engine.EventFilter(f)})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush(w)
	enc := json.NewEncoder(w)
	for m := range ch {
		if err := enc.Encode(toLegacy(m)); err != nil {
			return nil // the client went away; the channel ends with the request context
		}
		flush(w)
	}
	return nil
}

func toLegacy(m events.Message) legacyMessage {
	l := legacyMessage{Message: m}
	switch m.Type {
	case events.ContainerEventType:
		l.Status, l.ID, l.From = string(m.Action), m.Actor.ID, m.Actor.Attributes["image"]
	case events.ImageEventType:
		l.Status, l.ID = string(m.Action), m.Actor.ID
	}
	return l
}

// eventTime parses Docker's "seconds[.nanoseconds]" timestamps; "" is the zero time.
func eventTime(name, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	s, n, hasNanos := strings.Cut(value, ".")
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %s timestamp %q: %w", name, value, errdefs.ErrInvalid)
	}
	var nsec int64
	if hasNanos {
		if nsec, err = strconv.ParseInt(n, 10, 64); err != nil || len(n) > 9 {
			return time.Time{}, fmt.Errorf("invalid %s timestamp %q: %w", name, value, errdefs.ErrInvalid)
		}
		nsec = int64(float64(nsec) * math.Pow10(9-len(n)))
	}
	return time.Unix(sec, nsec), nil
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
