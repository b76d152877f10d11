package dockerapi_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/vice-engine/vice/core/internal/plugintest"
)

// TestMobyClient drives the API with the real Docker Go client over both listeners, negotiating the version.
func TestMobyClient(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	sock, addr := serve(t, s)
	for _, host := range []string{"unix://" + sock, "tcp://" + addr} {
		name, _, _ := strings.Cut(host, ":")
		t.Run(name, func(t *testing.T) {
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
			// The simulator's cluster: three hosts of 2 cores and 4 GiB.
			if info.Info.Name != plugintest.VCHName || info.Info.NCPU != 6 || info.Info.MemTotal != 3*4294430720 {
				t.Errorf("info = %+v", info.Info)
			}

			evCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			res := cli.Events(evCtx, client.EventsListOptions{Filters: make(client.Filters).Add("type", "container")})
			before := time.Now().UnixNano()
			// An image event, which the filter leaves out, then a container that runs and exits.
			if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: "busybox", Target: "busybox:" + name}); err != nil {
				t.Fatal(err)
			}
			id, _, _, _ := run(t, cli, &container.Config{Image: "busybox", Cmd: []string{"true"}}, nil, "ev-"+name)
			for {
				select {
				case m := <-res.Messages:
					if m.Type != events.ContainerEventType || m.Actor.ID != id || m.TimeNano < before {
						t.Fatalf("event = %+v", m)
					}
					if m.Action != events.ActionDie {
						continue // create, attach, start
					}
					if m.Actor.Attributes["exitCode"] != "0" || m.Actor.Attributes["name"] != "ev-"+name {
						t.Errorf("die event = %+v", m)
					}
				case err := <-res.Err:
					t.Fatal(err)
				case <-time.After(guestWait):
					t.Fatal("no die event")
				}
				break
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
	importImage(t, s, "busybox:latest")
	start := time.Now()
	// Follow the stream until the container's die has been recorded.
	ctx := t.Context()
	live := cli.Events(ctx, client.EventsListOptions{Filters: make(client.Filters).Add("event", "die")})
	id, _, _, _ := run(t, cli, &container.Config{Image: "busybox", Cmd: []string{"true"}}, nil, "until")
	select {
	case m := <-live.Messages:
		if m.Actor.ID != id || m.Actor.Attributes["image"] != "busybox" {
			t.Fatalf("die event = %+v", m)
		}
	case err := <-live.Err:
		t.Fatal(err)
	case <-time.After(guestWait):
		t.Fatal("no die event")
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
		case <-time.After(guestWait):
			t.Fatal("stream did not end at until")
		}
		break
	}
	if len(got) != 2 || got[0] != "start" || got[1] != "die" {
		t.Errorf("replayed %v, want [start die]", got)
	}
}
