package simulatortests

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// stallingRegistry serves one image; while stall is set, each of its layer blobs sends its first half and
// then stalls until the request ends, and its digest is sent on stalled.
type stallingRegistry struct {
	addr    string
	stall   atomic.Bool
	stalled chan string
}

func newStallingRegistry(t *testing.T, img v1.Image, repoTag string) *stallingRegistry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string]bool{}
	for _, l := range layers {
		d, _ := l.Digest()
		blobs[d.String()] = true
	}
	r := &stallingRegistry{stalled: make(chan string, len(blobs))}
	r.stall.Store(true)
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		digest := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
		if !r.stall.Load() || req.Method != http.MethodGet || !blobs[digest] {
			h.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strings.TrimSpace(rec.Header().Get("Content-Length")))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		r.stalled <- digest
		<-req.Context().Done()
	}))
	t.Cleanup(srv.Close)
	r.addr = strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(r.addr+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return r
}
