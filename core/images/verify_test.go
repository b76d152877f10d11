package images_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// tamperingRegistry serves the images pushed to it, but flips one byte in the middle of the blob whose path
// ends with tamper (when set), keeping its length.
func tamperingRegistry(t *testing.T, tamper *string) string {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *tamper == "" || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, *tamper) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		body[len(body)/2] ^= 0xff
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	dst, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}
}

// nothingStored fails the test when the store holds an image, an image record or a layer.
func nothingStored(t *testing.T, e *env) {
	t.Helper()
	if n, _ := e.svc.Count(t.Context()); n != 0 {
		t.Errorf("%d images after a failed pull", n)
	}
	if recs, _ := e.backend.ListValues(t.Context(), "images.image."); len(recs) != 0 {
		t.Errorf("image records after a failed pull: %d", len(recs))
	}
	if layers, _ := e.backend.ListLayers(t.Context()); len(layers) != 0 {
		t.Errorf("layers after a failed pull: %d", len(layers))
	}
}

// A blob that does not match its digest fails the pull (the streamed layer is never committed); the same
// pull from an honest registry then works.
func TestPullCorruptBlob(t *testing.T) {
	tamper := ""
	addr := tamperingRegistry(t, &tamper)
	img, err := fixtures.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	push(t, addr+"/corrupt:latest", img)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	tamper = d.String()

	e := newEnv(t)
	msgs, err := e.tryPull(t.Context(), addr+"/corrupt", "")
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "does not match its digest") {
		t.Fatalf("pull of a corrupt blob = %v (class %s)", err, errdefs.Class(err))
	}
	for _, m := range msgs {
		if m.Status == "Download complete" || m.Status == "Pull complete" {
			t.Errorf("a corrupt blob was reported as %q", m.Status)
		}
	}
	nothingStored(t, e)

	tamper = ""
	if _, err := e.tryPull(t.Context(), addr+"/corrupt", ""); err != nil {
		t.Fatalf("pull once the registry is honest: %v", err)
	}
}

// A layer whose uncompressed tar is not the one the image config names fails the pull and is removed, in the
// middle of a chain too; the layers before it are complete and stay.
func TestPullWrongDiffID(t *testing.T) {
	tamper := ""
	addr := tamperingRegistry(t, &tamper)
	layered, err := fixtures.LayeredImage()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := layered.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	// The config claims the second layer has the first one's diff ID.
	cfg = cfg.DeepCopy()
	cfg.RootFS.DiffIDs[1] = cfg.RootFS.DiffIDs[0]
	lying, err := mutate.ConfigFile(layered, cfg)
	if err != nil {
		t.Fatal(err)
	}
	push(t, addr+"/lying:latest", lying)

	e := newEnv(t)
	_, err = e.tryPull(t.Context(), addr+"/lying", "")
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "the image config says") {
		t.Fatalf("pull with a wrong diff ID = %v (class %s)", err, errdefs.Class(err))
	}
	if n, _ := e.svc.Count(t.Context()); n != 0 {
		t.Errorf("%d images after a failed pull", n)
	}
	ls, _ := e.backend.ListLayers(context.Background())
	for _, l := range ls {
		if l.Parent != "" {
			t.Errorf("layer %s (a child) stayed after the failed pull", *l.ID)
		}
	}
}

// Every layer of a multi-layer image is checked while the layers stream at once: a corrupt blob in the
// middle fails the pull with its own error, not with the cancellation of the others.
func TestPullCorruptMiddleLayer(t *testing.T) {
	tamper := ""
	addr := tamperingRegistry(t, &tamper)
	layered, err := fixtures.LayeredImage()
	if err != nil {
		t.Fatal(err)
	}
	push(t, addr+"/layered:latest", layered)
	layers, _ := layered.Layers()
	d, _ := layers[1].Digest()
	tamper = d.String()

	e := newEnv(t)
	_, err = e.tryPull(t.Context(), addr+"/layered", "")
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), d.Hex[:12]) {
		t.Fatalf("pull = %v (class %s), want the corrupt layer %s invalid", err, errdefs.Class(err), d.Hex[:12])
	}
	if n, _ := e.svc.Count(t.Context()); n != 0 {
		t.Errorf("%d images after a failed pull", n)
	}
	tamper = ""
	if _, err := e.tryPull(t.Context(), addr+"/layered", ""); err != nil {
		t.Fatalf("pull once the registry is honest: %v", err)
	}
	if n, _ := e.svc.Count(t.Context()); n != 1 {
		t.Errorf("%d images", n)
	}
}
