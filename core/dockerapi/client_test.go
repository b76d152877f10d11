package dockerapi_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/vice-engine/vice/core/internal/pltest"
)

// TestMobyClient drives the API with the real Docker Go client over both listeners, negotiating the version.
func TestMobyClient(t *testing.T) {
	s := newStack(t)
	sock, addr := serve(t, s)
	for _, host := range []string{"unix://" + sock, "tcp://" + addr} {
		t.Run(host[:4], func(t *testing.T) {
			ctx := t.Context()
			cli, err := client.New(client.WithHost(host))
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
			if err != nil {
				t.Fatal(err)
			}
			if ping.APIVersion != "1.50" || ping.OSType != "linux" || cli.ClientVersion() != "1.50" {
				t.Errorf("ping = %+v, negotiated %s", ping, cli.ClientVersion())
			}
			v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if v.Version != "0.1.0-test" || v.APIVersion != "1.50" || v.MinAPIVersion != "1.12" || len(v.Components) != 2 {
				t.Errorf("version = %+v", v)
			}
			info, err := cli.Info(ctx, client.InfoOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Info.Name != "vch-test" || info.Info.NCPU != 8 || info.Info.MemTotal != 16<<30 {
				t.Errorf("info = %+v", info.Info)
			}

			evCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			res := cli.Events(evCtx, client.EventsListOptions{Filters: make(client.Filters).Add("type", "container")})
			now := time.Now().UnixNano()
			s.backend.Emit(pltest.Event("network", "create", "n1", now, nil))
			s.backend.Emit(pltest.Event("container", "die", "c1", now+1, map[string]string{"name": "web", "exitCode": "0"}))
			select {
			case m := <-res.Messages:
				if m.Type != events.ContainerEventType || m.Action != events.ActionDie || m.Actor.ID != "c1" ||
					m.Actor.Attributes["exitCode"] != "0" || m.TimeNano != now+1 {
					t.Errorf("event = %+v", m)
				}
			case err := <-res.Err:
				t.Fatal(err)
			case <-time.After(5 * time.Second):
				t.Fatal("no event")
			}
		})
	}
}

// TestMobyClientEventsUntil replays the past with since and until, and the stream ends by itself.
func TestMobyClientEventsUntil(t *testing.T) {
	s := newStack(t)
	_, addr := serve(t, s)
	cli, err := client.New(client.WithHost("tcp://" + addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	start := time.Now()
	// Wait for each event to be recorded before sending the next, by following the stream.
	ctx := t.Context()
	live := cli.Events(ctx, client.EventsListOptions{})
	for i, action := range []string{"create", "start", "die"} {
		s.backend.Emit(pltest.Event("container", action, "c1", start.UnixNano()+int64(i), map[string]string{"image": "busybox"}))
		<-live.Messages
	}
	res := cli.Events(ctx, client.EventsListOptions{
		Since:   start.Add(-time.Second).Format(time.RFC3339Nano),
		Until:   time.Now().Add(time.Second).Format(time.RFC3339Nano),
		Filters: make(client.Filters).Add("event", "start", "die"),
	})
	var got []events.Action
	for {
		select {
		case m := <-res.Messages:
			got = append(got, m.Action)
			continue
		case err := <-res.Err:
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("stream did not end at until")
		}
		break
	}
	if len(got) != 2 || got[0] != "start" || got[1] != "die" {
		t.Errorf("replayed %v, want [start die]", got)
	}
}
