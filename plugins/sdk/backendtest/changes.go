package backendtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// changeStream is an open GET /changes: the values of the clock as they come.
type changeStream struct {
	values <-chan models.Changes
}

// openChanges opens the stream of the backend's change clock until t ends; ok is false when the backend
// answers that it has none (not implemented), which the contract allows.
func openChanges(t *testing.T, rt http.RoundTripper) (*changeStream, bool) {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(c, http.MethodGet, "http://portlayer/v1/changes", nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /changes: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode == http.StatusNotImplemented {
			return nil, false
		}
		t.Fatalf("GET /changes: %d %s", resp.StatusCode, body)
	}
	values := make(chan models.Changes, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(values)
		dec := json.NewDecoder(resp.Body)
		for {
			var v models.Changes
			if dec.Decode(&v) != nil {
				return
			}
			// The test needs the latest values, and must not hold the stream up: a full buffer loses its oldest.
			for sent := false; !sent; {
				select {
				case values <- v:
					sent = true
				default:
					select {
					case <-values:
					default:
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return &changeStream{values: values}, true
}

// next is the stream's next value.
func (cs *changeStream) next(t *testing.T) models.Changes {
	t.Helper()
	select {
	case v, ok := <-cs.values:
		if !ok {
			t.Fatal("the stream of the change clock ended")
		}
		if v.Epoch == nil || *v.Epoch == "" || v.Seq == nil {
			t.Fatalf("a value of the change clock without epoch or seq: %+v", v)
		}
		return v
	case <-time.After(expectWait):
		t.Fatal("no value of the change clock came")
	}
	panic("unreachable")
}

// reach reads the stream until the clock shows at least seq.
func (cs *changeStream) reach(t *testing.T, epoch string, seq uint64) {
	t.Helper()
	for {
		v := cs.next(t)
		if *v.Epoch != epoch {
			t.Fatalf("the epoch of the change clock changed from %s to %s", epoch, *v.Epoch)
		}
		if *v.Seq >= seq {
			return
		}
	}
}

// stampedGet is GET path (under the base path) with its answer's body and stamp.
func stampedGet(t *testing.T, rt http.RoundTripper, path string) (sdk.Stamp, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, "http://portlayer/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, body, err)
	}
	stamp, ok := sdk.ParseStamp(resp.Header.Get(sdk.ChangesHeader))
	if !ok {
		t.Fatalf("GET %s: the answer of a backend with a change clock has no %s header (%q)", path,
			sdk.ChangesHeader, resp.Header.Get(sdk.ChangesHeader))
	}
	return stamp, string(body)
}

// testChangeClock: a backend with a change clock stamps every answer with it, moves it with every request
// that changes things and with every change of a container it learns of by itself (here, an exit), and two
// answers made while the clock stood at one value say the same. Clients keep descriptions on that word.
func (s *suite) testChangeClock(t *testing.T) {
	cs, ok := openChanges(t, s.rt)
	if !ok {
		t.Skip("the backend has no change clock (GET /changes answers not_implemented)")
	}
	first := cs.next(t)
	epoch := *first.Epoch

	c := s.create(t, sh("sleep 0.5; exit 3"))
	id := *c.ID
	before, _ := stampedGet(t, s.rt, "/containers/"+id)
	if before.Epoch != epoch || before.Start < *first.Seq {
		t.Fatalf("the answer after the create is stamped %s; the stream showed %s %d", before, epoch, *first.Seq)
	}
	cs.reach(t, epoch, before.End)
	s.start(t, id)
	after, _ := stampedGet(t, s.rt, "/containers/"+id)
	if after.Start <= before.End {
		t.Fatalf("the start did not move the change clock: stamped %s before it, %s after", before, after)
	}

	// Watch the container until it has exited by itself, with no request that changes anything.
	said := map[sdk.Stamp]string{}
	var lastRunning sdk.Stamp
	deadline := time.Now().Add(expectWait)
	for {
		stamp, body := stampedGet(t, s.rt, "/containers/"+id)
		if stamp.Epoch != epoch {
			t.Fatalf("the epoch changed from %s to %s", epoch, stamp.Epoch)
		}
		if stamp.Start == stamp.End {
			if prev, seen := said[stamp]; seen && prev != body {
				t.Fatalf("two answers made while the clock stood at %s differ:\n%s\n%s", stamp, prev, body)
			}
			said[stamp] = body
		}
		var info models.ContainerInfo
		if err := json.Unmarshal([]byte(body), &info); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if !info.State.Running {
			if info.State.ExitCode != 3 {
				t.Fatalf("the container stopped with %s", stateText(info.State))
			}
			if lastRunning.End != 0 && stamp.End <= lastRunning.End {
				t.Fatalf("the exit did not move the change clock: running at %s, exited at %s", lastRunning, stamp)
			}
			// The stream shows the clock where the answer saw it.
			cs.reach(t, epoch, stamp.End)
			return
		}
		lastRunning = stamp
		if time.Now().After(deadline) {
			t.Fatalf("the container did not exit within %v", expectWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
