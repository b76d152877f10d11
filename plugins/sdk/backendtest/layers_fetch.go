package backendtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/storage"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// testFetchLayer has the backend download layer blobs from a registry-like server in this process: a blob
// behind a bearer token and a redirect, blobs that do not match their digest or size, a refused and an
// unreachable download, a missing parent and a layer that exists. Only the good blob leaves a layer.
func testFetchLayer(t *testing.T, pl *client.Portlayer) {
	diff := layerTar(t, map[string]string{"etc/fetched": "downloaded by the backend\n"})
	blob := gzipBytes(t, diff)
	digest := blobDigest(blob)
	// Another good blob: the tar unpacks, only the digest tells it is not the one asked for.
	other := gzipBytes(t, layerTar(t, map[string]string{"etc/fetched": "not what the manifest names\n"}))
	const token = "Bearer conformance"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/fetch/blobs/" + digest:
			if r.Header.Get("Authorization") != token {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/storage/blob", http.StatusTemporaryRedirect)
		case "/storage/blob":
			_, _ = w.Write(blob)
		case "/v2/fetch/blobs/tampered":
			_, _ = w.Write(other)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String() + "/v2/fetch/blobs/" + digest
	closed.Close()

	size := int64(len(blob))
	source := func(url string, header map[string]string) *models.LayerSource {
		return &models.LayerSource{URL: &url, Digest: &digest, Size: &size, Header: header}
	}
	good := srv.URL + "/v2/fetch/blobs/" + digest
	auth := map[string]string{"Authorization": token}

	id := newID()
	events := fetchLayer(t, pl, id, source(good, auth))
	last := events[len(events)-1]
	if last.Error != nil || last.Layer == nil || *last.Layer.ID != id || last.Downloaded != size {
		t.Fatalf("fetch of a good blob ended with %s", jsonText(last))
	}
	sum := sha256.Sum256(diff)
	if last.Layer.DiffID != "sha256:"+hex.EncodeToString(sum[:]) || last.Layer.DiffSize != int64(len(diff)) {
		t.Errorf("fetched layer: diffId %s diffSize %d", last.Layer.DiffID, last.Layer.DiffSize)
	}
	done := false
	for _, ev := range events[:len(events)-1] {
		done = done || ev.Done && ev.Downloaded == size
		if ev.Layer != nil || ev.Error != nil {
			t.Errorf("an event before the last has a layer or an error: %s", jsonText(ev))
		}
	}
	if !done {
		t.Errorf("no progress event said the blob was read to its end: %d events", len(events))
	}
	var back bytes.Buffer
	if _, err := pl.Storage.ReadLayerDiff(storage.NewReadLayerDiffParamsWithContext(ctx(t)).WithID(id), &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), diff) {
		t.Errorf("the fetched layer's diff is %d bytes, not the %d of the blob", back.Len(), len(diff))
	}

	// The same layer again is the write's conflict; under a missing parent, the write's not_found.
	wantFetchError(t, fetchLayer(t, pl, id, source(good, auth)), false, "conflict")
	missing := source(good, auth)
	missing.Parent = newID()
	wantFetchError(t, fetchLayer(t, pl, newID(), missing), false, "not_found")

	// Failed downloads leave nothing; those refused before any byte say downloaded 0.
	for _, c := range []struct {
		name  string
		src   *models.LayerSource
		class string
		none  bool // nothing was downloaded
	}{
		{"without the token", source(good, nil), "unauthorized", true},
		{"unknown blob", source(srv.URL+"/v2/fetch/blobs/sha256:0", auth), "not_found", true},
		{"unreachable", source(unreachable, auth), "unavailable", true},
		{"tampered", &models.LayerSource{URL: ptrTo(srv.URL + "/v2/fetch/blobs/tampered"), Digest: &digest,
			Size: ptrTo(int64(len(other))), Header: auth}, "invalid", false},
		{"wrong size", &models.LayerSource{URL: &good, Digest: &digest, Size: ptrTo(size - 1), Header: auth}, "invalid", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := newID()
			ev := wantFetchError(t, fetchLayer(t, pl, id, c.src), true, c.class)
			if c.none != (ev.Downloaded == 0) {
				t.Errorf("downloaded %d bytes", ev.Downloaded)
			}
			_, err := pl.Storage.GetLayer(storage.NewGetLayerParamsWithContext(ctx(t)).WithID(id))
			wantClass(t, err, http.StatusNotFound, "not_found")
		})
	}

	// A URL that is not http(s) is refused outright.
	_, err = pl.Storage.FetchLayer(storage.NewFetchLayerParamsWithContext(ctx(t)).WithID(newID()).
		WithSource(source("ftp://example.invalid/blob", nil)), &bytes.Buffer{})
	wantClass(t, err, http.StatusBadRequest, "invalid")

	if _, err := pl.Storage.RemoveLayer(storage.NewRemoveLayerParamsWithContext(ctx(t)).WithID(id)); err != nil {
		t.Fatalf("remove %s: %v", id, err)
	}
}

// fetchLayer runs FetchLayer and returns its events; the stream itself must succeed.
func fetchLayer(t *testing.T, pl *client.Portlayer, id string, src *models.LayerSource) []*models.LayerFetchEvent {
	t.Helper()
	var out bytes.Buffer
	_, err := pl.Storage.FetchLayer(storage.NewFetchLayerParamsWithContext(ctx(t)).WithID(id).WithSource(src), &out)
	if err != nil {
		t.Fatalf("fetch layer %s: %v", id, err)
	}
	var events []*models.LayerFetchEvent
	dec := json.NewDecoder(&out)
	for dec.More() {
		var ev models.LayerFetchEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("fetch layer %s: an event that does not decode: %v", id, err)
		}
		events = append(events, &ev)
	}
	if len(events) == 0 {
		t.Fatalf("fetch layer %s: no events", id)
	}
	return events
}

// wantFetchError checks that the last event is an error of class, the download's or the write's.
func wantFetchError(t *testing.T, events []*models.LayerFetchEvent, download bool, class string) *models.LayerFetchEvent {
	t.Helper()
	ev := events[len(events)-1]
	if ev.Layer != nil || ev.Error == nil || ev.Error.Class == nil || *ev.Error.Class != class ||
		ev.Error.Message == nil || *ev.Error.Message == "" || ev.Download != download {
		t.Fatalf("want a %s error (download %v), got %s", class, download, jsonText(ev))
	}
	return ev
}

func blobDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func ptrTo[T any](v T) *T { return &v }
