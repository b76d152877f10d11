package plugintest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tracked is the plugin's transport, watching what passes through it: the event streams open (so a test
// can wait for an engine to follow the backend's events before it acts) and the layers written.
type Tracked struct {
	rt http.RoundTripper

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	streams int
	written map[string]int // by WriteLayer or FetchLayer
	fetched map[string]int // by FetchLayer
	asked   map[string]int // requests by method and path ("GET /v1/containers/<id>")
}

// Track returns a new Tracked over the plugin's transport.
func (p *Plugin) Track() *Tracked {
	return &Tracked{rt: p.Transport, changed: make(chan struct{}), written: map[string]int{}, fetched: map[string]int{},
		asked: map[string]int{}}
}

const (
	eventsPath  = "/v1/events"
	layersPath  = "/v1/storage/layers/"
	fetchSuffix = "/fetch"
)

// RoundTrip sends req to the plugin and notes an event stream opened (until its body is closed) or a
// layer written.
func (tr *Tracked) RoundTrip(req *http.Request) (*http.Response, error) {
	tr.mu.Lock()
	tr.asked[req.Method+" "+req.URL.Path]++
	tr.mu.Unlock()
	resp, err := tr.rt.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch {
	case req.Method == http.MethodGet && req.URL.Path == eventsPath && resp.StatusCode == http.StatusOK:
		tr.update(func() { tr.streams++ })
		resp.Body = &onClose{ReadCloser: resp.Body, fn: func() { tr.update(func() { tr.streams-- }) }}
	case req.Method == http.MethodPut && strings.HasPrefix(req.URL.Path, layersPath) &&
		resp.StatusCode == http.StatusCreated:
		id := strings.TrimPrefix(req.URL.Path, layersPath)
		tr.update(func() { tr.written[id]++ })
	case req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, layersPath) &&
		strings.HasSuffix(req.URL.Path, fetchSuffix) && resp.StatusCode == http.StatusOK:
		// FetchLayer's answer says in its last line whether it wrote the layer.
		id := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, layersPath), fetchSuffix)
		resp.Body = &fetchBody{ReadCloser: resp.Body, fn: func() {
			tr.update(func() { tr.written[id]++; tr.fetched[id]++ })
		}}
	}
	return resp, nil
}

func (tr *Tracked) update(fn func()) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	fn()
	close(tr.changed)
	tr.changed = make(chan struct{})
}

// WaitEventStreams waits until exactly n event streams are open through tr.
func (tr *Tracked) WaitEventStreams(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		tr.mu.Lock()
		got, changed := tr.streams, tr.changed
		tr.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d event streams open through the plugin's transport, want %d", got, n)
		}
	}
}

// Asked is how many requests of method for path (under the base path: "/v1/containers/<id>") went through tr.
func (tr *Tracked) Asked(method, path string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.asked[method+" "+path]
}

// LayerWrites is how many times layer id was written through tr.
func (tr *Tracked) LayerWrites(id string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.written[id]
}

// LayerFetches is how many times layer id was written through tr by FetchLayer (the plugin downloading it).
func (tr *Tracked) LayerFetches(id string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.fetched[id]
}

// fetchBody runs fn once its lines have shown the layer written (an event with a layer).
type fetchBody struct {
	io.ReadCloser
	line []byte
	done bool
	fn   func()
}

func (b *fetchBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	for _, c := range p[:n] {
		if c != '\n' {
			b.line = append(b.line, c)
			continue
		}
		var ev struct {
			Layer json.RawMessage `json:"layer"`
		}
		if !b.done && json.Unmarshal(b.line, &ev) == nil && len(ev.Layer) > 0 {
			b.done = true
			b.fn()
		}
		b.line = b.line[:0]
	}
	return n, err
}

// onClose runs fn once, when the body is first closed.
type onClose struct {
	io.ReadCloser
	once sync.Once
	fn   func()
}

func (b *onClose) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.fn)
	return err
}
