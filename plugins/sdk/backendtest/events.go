package backendtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/events"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// testEvents opens the stream, sees the event of a kv write arrive, and closes the stream.
func testEvents(t *testing.T, pl *client.Portlayer) {
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := pl.Events.GetEvents(events.NewGetEventsParamsWithContext(sctx).WithType([]string{"kv"}), pw)
		pw.CloseWithError(err)
		done <- err
	}()
	got := make(chan *models.Event, 16)
	go func() {
		defer close(got)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			ev := new(models.Event)
			if json.Unmarshal(sc.Bytes(), ev) == nil {
				got <- ev
			}
		}
	}()

	k := key(t, "event")
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	// The stream may open after the first write: write until the event shows.
	put(t, pl, k, "v")
	for seen := false; !seen; {
		select {
		case ev, ok := <-got:
			if !ok {
				t.Fatal("event stream ended early")
			}
			if *ev.Type != "kv" {
				t.Fatalf("the type filter let through %+v", ev)
			}
			seen = ev.ID == k && *ev.Action == "put" && *ev.Time > 0
		case <-tick.C:
			put(t, pl, k, "v")
		case <-deadline:
			t.Fatal("no kv event within 15s")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not close after the client left")
	}
}
