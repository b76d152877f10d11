package sdk_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// memLayers is a layer store in memory whose WriteLayer reads the diff as a backend with a read-ahead does:
// in a goroutine of its own, the last reads of which may come after WriteLayer answered an error.
type memLayers struct {
	mu     sync.Mutex
	layers map[string][]byte
}

func (m *memLayers) Name() string               { return "mem" }
func (m *memLayers) Ping(context.Context) error { return nil }
func (m *memLayers) Info(context.Context) (*models.VCHInfo, error) {
	return nil, errdefs.ErrNotImplemented
}
func (m *memLayers) ListLayers(context.Context) ([]*models.LayerInfo, error) {
	return nil, errdefs.ErrNotImplemented
}
func (m *memLayers) GetLayer(_ context.Context, id string) (*models.LayerInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.layers[id]; !ok {
		return nil, errdefs.ErrNotFound
	}
	return &models.LayerInfo{ID: &id}, nil
}
func (m *memLayers) WriteLayer(ctx context.Context, id, parent, compression string, diff io.Reader) (*models.LayerInfo, error) {
	if parent != "" {
		return nil, fmt.Errorf("parent %s: %w", parent, errdefs.ErrNotFound)
	}
	if compression != "gzip" {
		return nil, fmt.Errorf("compression %s: %w", compression, errdefs.ErrInvalid)
	}
	chunks := make(chan []byte, 4)
	var readErr error
	go func() { // the read-ahead
		defer close(chunks)
		for {
			b := make([]byte, 1000)
			n, err := diff.Read(b)
			if n > 0 {
				chunks <- b[:n]
			}
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				return
			}
		}
	}()
	var got bytes.Buffer
	for c := range chunks {
		got.Write(c)
	}
	if readErr != nil {
		return nil, fmt.Errorf("read the diff: %w", readErr)
	}
	zr, err := gzip.NewReader(&got)
	if err != nil {
		return nil, errdefs.Classed(err, errdefs.ErrInvalid)
	}
	tar, err := io.ReadAll(zr)
	if err != nil {
		return nil, errdefs.Classed(err, errdefs.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.layers[id]; ok {
		return nil, errdefs.ErrConflict
	}
	m.layers[id] = tar
	sum := sha256.Sum256(tar)
	size := int64(len(tar))
	return &models.LayerInfo{ID: &id, Size: &size, DiffSize: size, DiffID: "sha256:" + hex.EncodeToString(sum[:])}, nil
}
func (m *memLayers) RemoveLayer(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.layers[id]; !ok {
		return errdefs.ErrNotFound
	}
	delete(m.layers, id)
	return nil
}
func (m *memLayers) ReadLayerDiff(context.Context, string) (io.ReadCloser, error) {
	return nil, errdefs.ErrNotImplemented
}

// FetchLayer served in this process over a store whose reads run in their own goroutine: progress, the
// layer, a blob that breaks off, a wrong digest. Run with -race.
func TestFetchLayerInProcess(t *testing.T) {
	var payload bytes.Buffer
	zw := gzip.NewWriter(&payload)
	zw.Write(bytes.Repeat([]byte("vice fetch\n"), 50000))
	zw.Close()
	blob := payload.Bytes()
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/blob":
			w.Write(blob)
		case "/short": // the connection ends half-way
			w.Header().Set("Content-Length", fmt.Sprint(len(blob)))
			w.Write(blob[:len(blob)/2])
			panic(http.ErrAbortHandler)
		}
	}))
	defer srv.Close()
	store := &memLayers{layers: map[string][]byte{}}
	h, err := sdk.NewHandler(store)
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(id, path string) []models.LayerFetchEvent {
		t.Helper()
		size := int64(len(blob))
		body, _ := json.Marshal(models.LayerSource{URL: ptr(srv.URL + path), Digest: &digest, Size: &size})
		req := httptest.NewRequest(http.MethodPost, "/v1/storage/layers/"+id+"/fetch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("fetch %s: %d %s", path, rec.Code, rec.Body)
		}
		var events []models.LayerFetchEvent
		for _, line := range strings.Split(strings.TrimSpace(rec.Body.String()), "\n") {
			var ev models.LayerFetchEvent
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("fetch %s: %q: %v", path, line, err)
			}
			events = append(events, ev)
		}
		return events
	}

	id := strings.Repeat("a", 64)
	events := fetch(id, "/blob")
	last := events[len(events)-1]
	if last.Layer == nil || *last.Layer.ID != id || last.Downloaded != int64(len(blob)) || !last.Done {
		t.Fatalf("last event %+v", last)
	}
	if len(events) < 2 || !events[len(events)-2].Done || events[len(events)-2].Layer != nil {
		t.Errorf("no progress event said the blob was read before the layer came: %+v", events)
	}
	if len(store.layers[id]) != 50000*len("vice fetch\n") {
		t.Errorf("the store has %d bytes", len(store.layers[id]))
	}

	short := strings.Repeat("b", 64)
	events = fetch(short, "/short")
	last = events[len(events)-1]
	if last.Error == nil || !last.Download || *last.Error.Class != "unavailable" {
		t.Errorf("a blob that broke off: %+v %+v", last, last.Error)
	}
	if _, err := store.GetLayer(context.Background(), short); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a layer from a blob that broke off: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
