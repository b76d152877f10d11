package portlayer_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/models"
)

const clockID = "2222222222222222222222222222222222222222222222222222222222222222"

// clockPlugin is a port layer with a change clock that the test moves by hand: one container, its
// description, the stream of the clock and an event stream.
type clockPlugin struct {
	gets atomic.Int32 // descriptions asked for

	mu       sync.Mutex
	epoch    string
	seq      uint64
	status   string
	unstable bool // answers are stamped as made while the clock moved
	noClock  bool // the backend has none
	clock    *io.PipeWriter
	events   *io.PipeWriter
}

func newClockPlugin() *clockPlugin { return &clockPlugin{epoch: "e1", seq: 7, status: "running"} }

func (p *clockPlugin) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	answer := func(status int, body io.ReadCloser) *http.Response {
		h := http.Header{"Content-Type": {"application/json"}}
		if status == http.StatusOK && (req.URL.Path == "/v1/changes" || req.URL.Path == "/v1/events") {
			h.Set("Content-Type", portlayer.NDJSONMime)
		}
		if !p.noClock {
			end := p.seq
			if p.unstable {
				end++
			}
			h.Set(sdk.ChangesHeader, sdk.Stamp{Epoch: p.epoch, Start: p.seq, End: end}.String())
		}
		return &http.Response{StatusCode: status, Header: h, Body: body, Request: req}
	}
	text := func(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
	switch path := req.URL.Path; {
	case path == "/v1/changes":
		if p.noClock {
			return answer(http.StatusNotImplemented, text(`{"class":"not_implemented","message":"no clock"}`)), nil
		}
		pr, pw := io.Pipe()
		p.clock = pw
		first := p.line()
		go pw.Write([]byte(first))
		return answer(http.StatusOK, pr), nil
	case path == "/v1/events":
		pr, pw := io.Pipe()
		p.events = pw
		return answer(http.StatusOK, pr), nil
	case path == "/v1/containers/"+clockID && req.Method == http.MethodGet:
		p.gets.Add(1)
		id, name, running := clockID, "one", p.status == "running"
		info, _ := json.Marshal(&models.ContainerInfo{ID: &id, Name: &name,
			State: &models.ContainerState{Status: &p.status, Running: running}})
		return answer(http.StatusOK, text(string(info))), nil
	case path == "/v1/containers/"+clockID+"/start":
		id, name := clockID, "one"
		info, _ := json.Marshal(&models.ContainerInfo{ID: &id, Name: &name, State: &models.ContainerState{Status: &p.status}})
		return answer(http.StatusOK, text(string(info))), nil
	}
	return answer(http.StatusNotFound, text(`{"class":"not_found","message":"no such thing"}`)), nil
}

// line is the clock as its stream says it. Called with p.mu held.
func (p *clockPlugin) line() string { return fmt.Sprintf(`{"epoch":%q,"seq":%d}`+"\n", p.epoch, p.seq) }

// set changes the container's status, and moves the clock when told to (as a backend that learns of the
// change by itself does).
func (p *clockPlugin) set(status string, move bool) {
	p.mu.Lock()
	p.status = status
	var line string
	if move {
		p.seq++
		line = p.line()
	}
	w := p.clock
	p.mu.Unlock()
	if line != "" && w != nil {
		w.Write([]byte(line))
	}
}

// newClockClient is a client of p, closed with p's streams when t ends.
func newClockClient(t *testing.T, p *clockPlugin) *portlayer.Client {
	c := portlayer.New("clock", p)
	t.Cleanup(func() {
		c.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, w := range []*io.PipeWriter{p.clock, p.events} {
			if w != nil {
				w.Close()
			}
		}
	})
	return c
}

// describe is GetContainerShared's answer's status, and whether the client asked the plugin for it.
func describe(t *testing.T, c *portlayer.Client, p *clockPlugin) (string, bool) {
	t.Helper()
	before := p.gets.Load()
	info, err := c.GetContainerShared(t.Context(), clockID)
	if err != nil {
		t.Fatal(err)
	}
	return *info.State.Status, p.gets.Load() != before
}

// settle asks for the description until the client answers it without asking the plugin (the stream of
// the clock opens with the first request).
func settle(t *testing.T, c *portlayer.Client, p *clockPlugin) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, asked := describe(t, c, p); !asked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the client asks the plugin for every description, though the clock stands still")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// soonExited waits for the description to say exited, well within keptFor: the clock, not the age, tells.
func soonExited(t *testing.T, c *portlayer.Client, p *clockPlugin) {
	t.Helper()
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		if status, _ := describe(t, c, p); status == "exited" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a description kept from before the clock moved was answered")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDescriptionsKeptWhileTheClockStands(t *testing.T) {
	p := newClockPlugin()
	c := newClockClient(t, p)
	settle(t, c, p)
	for range 5 {
		if status, asked := describe(t, c, p); asked || status != "running" {
			t.Fatalf("a kept description: %s, asked %v", status, asked)
		}
	}

	// The backend learns of an exit by itself: the clock moves, and the next descriptions say so.
	p.set("exited", true)
	soonExited(t, c, p)
	settle(t, c, p)
}

func TestDescriptionsAfterTheClientsOwnChange(t *testing.T) {
	p := newClockPlugin()
	c := newClockClient(t, p)
	settle(t, c, p)
	// The plugin has not moved its clock (yet): the client's own request is what says things changed.
	p.set("exited", false)
	if _, err := c.StartContainer(t.Context(), clockID); err != nil {
		t.Fatal(err)
	}
	if status, asked := describe(t, c, p); !asked || status != "exited" {
		t.Fatalf("after a start: %s, asked %v", status, asked)
	}
}

func TestDescriptionsAfterAnEvent(t *testing.T) {
	p := newClockPlugin()
	c := newClockClient(t, p)
	events, err := c.Events(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, c, p)
	p.set("exited", false)
	p.mu.Lock()
	w := p.events
	p.mu.Unlock()
	w.Write([]byte(`{"type":"container","action":"die","id":"` + clockID + `","time":1}` + "\n"))
	<-events
	if status, asked := describe(t, c, p); !asked || status != "exited" {
		t.Fatalf("after an event: %s, asked %v", status, asked)
	}
}

func TestDescriptionsNotKept(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(p *clockPlugin)
	}{
		{"without a clock", func(p *clockPlugin) { p.noClock = true }},
		{"made while the clock moved", func(p *clockPlugin) { p.unstable = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newClockPlugin()
			tc.setup(p)
			c := newClockClient(t, p)
			for range 20 {
				if _, asked := describe(t, c, p); !asked {
					t.Fatal("a description was kept")
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
}

func TestDescriptionsAfterANewEpoch(t *testing.T) {
	p := newClockPlugin()
	c := newClockClient(t, p)
	settle(t, c, p)
	// The backend restarted: a new clock, which may stand at the old one's value.
	p.mu.Lock()
	p.epoch, p.status = "e2", "exited"
	line, w := p.line(), p.clock
	p.mu.Unlock()
	w.Write([]byte(line))
	soonExited(t, c, p)
}

func TestDescriptionsKeptForASecondAtMost(t *testing.T) {
	p := newClockPlugin()
	c := newClockClient(t, p)
	settle(t, c, p)
	time.Sleep(1100 * time.Millisecond)
	if _, asked := describe(t, c, p); !asked {
		t.Fatal("a description older than a second was answered again")
	}
}
