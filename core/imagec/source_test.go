package imagec_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// Source gives the request another process sends to download a layer blob: with it (and nothing of the
// registry client's), the blob comes, authorization included.
func TestSourceDownloadsTheBlob(t *testing.T) {
	reg := busyboxRegistry(t, fixtures.WithBasicAuth("alice", "s3cret"))
	c, err := imagec.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := imagec.ParseReference(reg.Ref(fixtures.Busybox))
	resolved, err := c.Resolve(t.Context(), ref, registry.AuthConfig{Username: "alice", Password: "s3cret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := resolved.Layers[0]
	src, err := resolved.Source(t.Context(), l)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(src.URL, "http://"+reg.Addr+"/v2/busybox/blobs/"+l.Digest.String()) || !src.Insecure {
		t.Errorf("source %s (insecure %v)", src.URL, src.Insecure)
	}
	if !strings.HasPrefix(src.Header.Get("Authorization"), "Basic ") {
		t.Errorf("no credentials in the source's headers: %v", src.Header)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, src.URL, nil)
	req.Header = src.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if resp.StatusCode != http.StatusOK || err != nil || n != l.Size || "sha256:"+hex.EncodeToString(h.Sum(nil)) != l.Digest.String() {
		t.Fatalf("GET with the source: %s, %d bytes, %v", resp.Status, n, err)
	}

	// Without the source's headers the registry refuses: the credentials were what it took.
	resp2, err := http.Get(src.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without the headers: %s", resp2.Status)
	}
}

// A registry that wants a bearer token (as Docker Hub does): the source carries the token the registry
// client obtained.
func TestSourceCarriesTheBearerToken(t *testing.T) {
	reg := busyboxRegistry(t)
	const token = "vice-test-token"
	backend, _ := url.Parse("http://" + reg.Addr)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"token":"`+token+`"}`)
		case r.Header.Get("Authorization") != "Bearer "+token:
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="vice-test"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()

	c, err := imagec.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(srv.URL, "http://")
	ref, _ := imagec.ParseReference(addr + "/" + fixtures.Busybox)
	resolved, err := c.Resolve(t.Context(), ref, registry.AuthConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := resolved.Source(t.Context(), resolved.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("the source's Authorization is %q", got)
	}
}

// busyboxRegistry is a fixtures registry holding busybox, closed when the test ends.
func busyboxRegistry(t *testing.T, opts ...fixtures.RegistryOption) *fixtures.Registry {
	t.Helper()
	reg, err := fixtures.StartRegistry("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	img, err := fixtures.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Push(t.Context(), fixtures.Busybox, img); err != nil {
		t.Fatal(err)
	}
	return reg
}
