package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	dockerregistry "github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

func TestAuthRegistry(t *testing.T) {
	ar, err := fixtures.StartRegistry("127.0.0.1:0", fixtures.WithBasicAuth("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	img, _ := fixtures.BusyboxImage()
	if err := ar.Push(t.Context(), fixtures.Busybox, img); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	_, err = e.svc.PreparePull(t.Context(), images.PullOptions{Image: ar.Ref(fixtures.Busybox)})
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "may require 'docker login'") {
		t.Fatalf("anonymous pull = %v", err)
	}
	p, err := e.svc.PreparePull(t.Context(), images.PullOptions{Image: ar.Ref(fixtures.Busybox),
		Auth: dockerregistry.AuthConfig{Username: "alice", Password: "s3cret", ServerAddress: ar.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	// The plugin downloaded the layer itself, with the credentials the engine resolved.
	cfg, _ := img.ConfigFile()
	if n := e.tracked.LayerFetches(cfg.RootFS.DiffIDs[0].Hex); n != 1 {
		t.Errorf("the plugin downloaded the layer %d times, want 1", n)
	}
	rc := e.svc.Registry()
	if err := rc.Login(t.Context(), dockerregistry.AuthConfig{Username: "alice", Password: "s3cret", ServerAddress: ar.Addr}); err != nil {
		t.Errorf("login: %v", err)
	}
	err = rc.Login(t.Context(), dockerregistry.AuthConfig{Username: "alice", Password: "wrong", ServerAddress: "http://" + ar.Addr + "/v2/"})
	if !errors.Is(err, errdefs.ErrUnauthorized) || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("wrong login = %v", err)
	}
}

func TestSaveRemoveLoad(t *testing.T) {
	e := newEnv(t)
	e.pull(t, fixtures.Layered)
	ref := reg.Ref(fixtures.Layered)
	before, _ := e.svc.Inspect(t.Context(), ref)
	sv, err := e.svc.PrepareSave(t.Context(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := sv.WriteTo(t.Context(), &archive); err != nil {
		t.Fatal(err)
	}
	// Every layer.tar hashes to its diff id.
	files := untar(t, archive.Bytes())
	var manifest []struct {
		Config           string
		RepoTags, Layers []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 || manifest[0].RepoTags[0] != ref {
		t.Fatalf("manifest.json = %s, %v", files["manifest.json"], err)
	}
	for i, l := range manifest[0].Layers {
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(files[l])); got != before.RootFS.Layers[i] {
			t.Errorf("layer %d: %s, want %s", i, got, before.RootFS.Layers[i])
		}
	}
	if fmt.Sprintf("sha256:%x", sha256.Sum256(files[manifest[0].Config])) != before.ID {
		t.Errorf("config bytes changed")
	}
	if _, err := e.svc.Delete(t.Context(), ref, false, true); err != nil {
		t.Fatal(err)
	}
	if layers, _ := e.backend.ListLayers(t.Context()); len(layers) != 0 {
		t.Fatalf("%d layers left after rmi", len(layers))
	}
	msgs, err := e.svc.Load(t.Context(), bytes.NewReader(archive.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Stream != "Loaded image: "+ref+"\n" {
		t.Errorf("load messages = %+v", msgs)
	}
	after, err := e.svc.Inspect(t.Context(), ref)
	if err != nil || after.ID != before.ID {
		t.Fatalf("after load: %s, %v; want %s", after.ID, err, before.ID)
	}
	// A second load rewrites no layer.
	if _, err := e.svc.Load(t.Context(), bytes.NewReader(archive.Bytes())); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimPrefix(before.RootFS.Layers[0], "sha256:")
	if n := e.tracked.LayerWrites(base); n != 2 {
		t.Errorf("base layer written %d times (pull, load), want 2", n)
	}
}

// TestLoadHandBuilt loads an archive made here, untagged, then one whose layer does not match its config.
func TestLoadHandBuilt(t *testing.T) {
	e := newEnv(t)
	layer := tarBytes(t, map[string]string{"hello.txt": "hello\n"})
	diff := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Cmd":["/hello"]},"rootfs":{"type":"layers","diff_ids":["` + diff + `"]}}`)
	id := fmt.Sprintf("sha256:%x", sha256.Sum256(cfg))
	archive := tarBytes(t, map[string]string{
		"abc/layer.tar": string(layer), "cfg.json": string(cfg),
		"manifest.json": `[{"Config":"cfg.json","RepoTags":null,"Layers":["abc/layer.tar"]}]`,
	})
	msgs, err := e.svc.Load(t.Context(), bytes.NewReader(archive))
	if err != nil || len(msgs) != 1 || msgs[0].Stream != "Loaded image ID: "+id+"\n" {
		t.Fatalf("load = %+v, %v", msgs, err)
	}
	bad := tarBytes(t, map[string]string{
		"abc/layer.tar": string(tarBytes(t, map[string]string{"other": "x"})), "cfg.json": string(cfg),
		"manifest.json": `[{"Config":"cfg.json","RepoTags":["hello:1"],"Layers":["abc/layer.tar"]}]`,
	})
	if _, err := e.svc.Load(t.Context(), bytes.NewReader(bad)); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "invalid diffID") {
		t.Fatalf("bad load = %v", err)
	}
	if _, err := e.svc.Inspect(t.Context(), "hello:1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("the bad image was stored: %v", err)
	}
}

func TestRestartSeesImages(t *testing.T) {
	e := newEnv(t)
	e.pull(t, fixtures.Busybox)
	if err := e.svc.Tag(t.Context(), reg.Ref(fixtures.Busybox), "mine/bb", "v1"); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvOver(t, e.plugin)
	list, err := e2.svc.List(t.Context(), nil)
	if err != nil || len(list) != 1 || len(list[0].RepoTags) != 2 || list[0].RepoTags[1] != "mine/bb:v1" {
		t.Fatalf("new endpoint lists %+v, %v", list, err)
	}
	st := statuses(e2.pull(t, fixtures.Busybox))
	if st[len(st)-1] != "Status: Image is up to date for "+reg.Ref(fixtures.Busybox) {
		t.Errorf("pull after restart = %q", st)
	}
}

func TestInterruptedPull(t *testing.T) {
	var stall atomic.Bool
	stall.Store(true)
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stall.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && !strings.Contains(r.URL.Path, "uploads") {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Body.Len() > 100000 { // the layer, not the config
				w.Header().Set("Content-Length", fmt.Sprint(rec.Body.Len()))
				w.WriteHeader(http.StatusOK)
				w.Write(rec.Body.Bytes()[:65536])
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	img, _ := fixtures.BusyboxImage()
	dst, _ := name.ParseReference(addr+"/slow:latest", name.Insecure)
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	p, err := e.svc.PreparePull(ctx, images.PullOptions{Image: addr + "/slow"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(ctx, func(m images.Message) {
		if m.Status == "Downloading" {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull = %v", err)
	}
	if n, _ := e.svc.Count(t.Context()); n != 0 {
		t.Fatalf("%d images after an interrupted pull", n)
	}
	if recs, _ := e.backend.ListValues(t.Context(), "images.image."); len(recs) != 0 {
		t.Fatalf("image records after an interrupted pull: %d", len(recs))
	}
	if layers, _ := e.backend.ListLayers(t.Context()); len(layers) != 0 {
		t.Fatalf("layers after an interrupted pull: %d", len(layers))
	}
	stall.Store(false)
	if _, err := e.tryPull(t.Context(), addr+"/slow", ""); err != nil {
		t.Fatalf("second pull: %v", err)
	}
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out[h.Name] = body
	}
}

func tarBytes(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}
