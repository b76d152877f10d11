package events

import (
	"context"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/models"
)

func TestBusFiltersByType(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := NewBus(8)
	kvOnly := b.Subscribe(ctx, []string{"kv"})
	all := b.Subscribe(ctx, nil)

	b.Publish(New("container", "start", "c1", nil))
	b.Publish(New("kv", "put", "k1", nil))

	if ev := <-kvOnly; *ev.Type != "kv" || ev.ID != "k1" {
		t.Fatalf("kv subscriber got %s %s", *ev.Type, ev.ID)
	}
	for _, want := range []string{"c1", "k1"} {
		if ev := <-all; ev.ID != want {
			t.Fatalf("all subscriber got %q, want %q", ev.ID, want)
		}
	}
	select {
	case ev := <-kvOnly:
		t.Fatalf("kv subscriber got an extra event %+v", ev)
	default:
	}
}

func TestBusDropsForSlowSubscriber(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := NewBus(4)
	slow := b.Subscribe(ctx, nil)
	fast := b.Subscribe(ctx, nil)

	go func() {
		for range fast {
		}
	}()

	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			b.Publish(New("kv", "put", "k", nil))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}
	// The slow reader kept only its buffer; the rest was dropped for it alone.
	if n := len(slow); n != 4 {
		t.Fatalf("slow subscriber buffered %d events, want 4", n)
	}
	if d := b.Dropped(); d < 96 {
		t.Fatalf("dropped %d, want at least 96", d)
	}
}

func TestBusClosesOnCancel(t *testing.T) {
	b := NewBus(1)
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.Subscribe(ctx, nil)
	b.Publish(New("kv", "put", "a", nil))
	b.Publish(New("kv", "put", "b", nil)) // dropped: buffer of one
	cancel()

	var ids []string
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				if len(ids) != 1 || ids[0] != "a" {
					t.Fatalf("got %v before close, want [a]", ids)
				}
				if n := b.Subscribers(); n != 0 {
					t.Fatalf("%d subscribers left after cancel", n)
				}
				return
			}
			ids = append(ids, ev.ID)
		case <-timeout:
			t.Fatal("channel not closed after cancel")
		}
	}
}

func TestPublishStampsTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := NewBus(1)
	ch := b.Subscribe(ctx, nil)
	typ, action := "kv", "put"
	before := time.Now().UnixNano()
	b.Publish(&models.Event{Type: &typ, Action: &action, ID: "x"})
	ev := <-ch
	if ev.Time == nil || *ev.Time < before {
		t.Fatalf("event time %v not stamped", ev.Time)
	}
}
