package backendtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/events"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// eventStream opens the event stream for types and delivers its events until cancel is called; done then
// receives how the stream ended.
func eventStream(pl *client.Portlayer, types ...string) (got <-chan *models.Event, done <-chan error, cancel func()) {
	sctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	ended := make(chan error, 1)
	go func() {
		_, err := pl.Events.GetEvents(events.NewGetEventsParamsWithContext(sctx).WithTimeout(0).WithType(types), pw)
		pw.CloseWithError(err)
		ended <- err
	}()
	out := make(chan *models.Event, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			ev := new(models.Event)
			if json.Unmarshal(sc.Bytes(), ev) == nil {
				out <- ev
			}
		}
	}()
	return out, ended, cancel
}

// testEvents opens the stream, sees the event of a kv write arrive, and closes the stream.
func testEvents(t *testing.T, pl *client.Portlayer) {
	got, done, cancel := eventStream(pl, "kv")
	defer cancel()

	k := key(t, "event")
	deadline := time.After(expectWait)
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
			t.Fatalf("no kv event within %s", expectWait)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not close after the client left")
	}
}

// openEvents opens a stream of events of types and returns once it is known to be open: kv events come
// too, and a kv write is repeated until its event arrives. The stream ends with t.
func openEvents(t *testing.T, pl *client.Portlayer, types ...string) <-chan *models.Event {
	t.Helper()
	got, _, cancel := eventStream(pl, append(types, "kv")...)
	t.Cleanup(cancel)
	k := key(t, "open")
	put(t, pl, k, "v")
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(expectWait)
	for {
		select {
		case ev, ok := <-got:
			if !ok {
				t.Fatal("event stream ended early")
			}
			if *ev.Type == "kv" && ev.ID == k {
				return got
			}
		case <-tick.C:
			put(t, pl, k, "v")
		case <-deadline:
			t.Fatalf("no kv event within %s", expectWait)
		}
	}
}

// testContainerEvents follows one container's life in the event stream: Docker's actions, in order, with
// its name and the exit code of its process. The stream is read all along, as a client must: the backend
// drops the events a slow reader cannot take.
func (s *suite) testContainerEvents(t *testing.T) {
	stream := openEvents(t, s.pl, "container")
	var (
		mu   sync.Mutex
		mine []*models.Event
		id   = make(chan string, 1)
	)
	go func() {
		watched := ""
		for ev := range stream {
			if watched == "" {
				select {
				case watched = <-id:
				default:
				}
			}
			if *ev.Type == "container" && (watched == "" || ev.ID == watched) {
				mu.Lock()
				mine = append(mine, ev)
				mu.Unlock()
			}
		}
	}()
	c := s.create(t, sh("exit 3"))
	id <- *c.ID
	s.start(t, *c.ID)
	s.exited(t, *c.ID, 3)
	renamed := s.newName(t) + "-renamed"
	if _, err := s.rename(t, *c.ID, renamed); err != nil {
		t.Fatalf("rename: %v", errText(err))
	}
	s.remove(t, *c.ID, false)

	want := []struct{ action, name, attr, value string }{
		{"create", *c.Name, "", ""},
		{"start", *c.Name, "", ""},
		{"die", *c.Name, "exitCode", "3"},
		{"rename", renamed, "oldName", "/" + *c.Name},
		{"destroy", renamed, "", ""},
	}
	deadline := time.Now().Add(expectWait)
	for {
		mu.Lock()
		var seen []string
		var matched []*models.Event
		for _, ev := range mine {
			if ev.ID != *c.ID {
				continue // another container's, from before the ID was known
			}
			seen = append(seen, *ev.Action)
			// Backends may publish more (attach, kill, ...); the ones the contract names come in order.
			if i := len(matched); i < len(want) && *ev.Action == want[i].action {
				matched = append(matched, ev)
			}
		}
		mu.Unlock()
		if len(matched) == len(want) {
			for i, ev := range matched {
				w := want[i]
				if ev.Attributes["name"] != w.name || (w.attr != "" && ev.Attributes[w.attr] != w.value) || *ev.Time <= 0 {
					t.Errorf("%s event %+v: want name %q and %s=%q", w.action, ev, w.name, w.attr, w.value)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q event for %s; its events: %q", want[len(matched)].action, *c.ID, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
