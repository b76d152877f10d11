package sdk

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/storage"
)

// FetchLayer is served here, for every backend, on top of its LayerStore: the blob is downloaded in the
// plugin's process and streamed into WriteLayer, so a pull's bytes do not cross the port layer. The caller
// (the core) has resolved the blob, its registry's authorization included; this side checks what it reads
// against the manifest's size and digest.

// fetchProgressEvery is how often the downloaded count is reported while a blob downloads.
const fetchProgressEvery = 100 * time.Millisecond

// fetchDialTimeout bounds the connection to the registry (net/http's default is 30 s).
const fetchDialTimeout = 10 * time.Second

// fetchRedirects bounds the redirects followed to a blob (registries send blobs on to storage once).
const fetchRedirects = 10

func fetchLayerHandler(store LayerStore) storage.FetchLayerHandlerFunc {
	return func(p storage.FetchLayerParams) middleware.Responder {
		src := p.Source
		client, u, err := fetchClient(src)
		if err != nil {
			return errorResponder(err)
		}
		ctx := p.HTTPRequest.Context()
		return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			out := &fetchEvents{w: w, enc: json.NewEncoder(w)}
			defer client.CloseIdleConnections()
			last := fetchLayer(ctx, store, client, u, p.ID, src, out)
			out.final(last)
		})
	}
}

// fetchClient checks the source's URL and TLS settings and returns the client that downloads from it.
func fetchClient(src *models.LayerSource) (*http.Client, *url.URL, error) {
	u, err := url.Parse(*src.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("fetch layer: the blob's URL %q is not an http or https URL: %w", redact(*src.URL), errdefs.ErrInvalid)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A registry the engine reached and this process cannot is said quickly: the engine then sends the blob.
	tr.DialContext = (&net.Dialer{Timeout: fetchDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	switch {
	case src.Insecure:
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the caller's --insecure-registry
	case len(src.Ca) > 0:
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		for i, pem := range src.Ca {
			if !roots.AppendCertsFromPEM([]byte(pem)) {
				return nil, nil, fmt.Errorf("fetch layer: certificate %d holds no PEM certificate: %w", i+1, errdefs.ErrInvalid)
			}
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= fetchRedirects {
			return fmt.Errorf("more than %d redirects", fetchRedirects)
		}
		if req.URL.Scheme == "http" && via[0].URL.Scheme == "https" && !src.Insecure {
			return fmt.Errorf("a redirect from https to plain http (%s)", req.URL.Host)
		}
		return nil
	}}
	return client, u, nil
}

// fetchLayer downloads the blob and writes the layer, reporting progress to out; it returns the last event.
func fetchLayer(ctx context.Context, store LayerStore, client *http.Client, u *url.URL, id string,
	src *models.LayerSource, out *fetchEvents) *models.LayerFetchEvent {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return downloadFailed(0, fmt.Errorf("fetch layer: %v: %w", err, errdefs.ErrInvalid))
	}
	for k, v := range src.Header {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return downloadFailed(0, fetchError(u, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return downloadFailed(0, errdefs.FromHTTPStatus(registryClass(resp.StatusCode),
			fmt.Sprintf("GET %s: the registry answered %s", redact(u.String()), resp.Status)))
	}
	var size int64
	if src.Size != nil {
		size = *src.Size
	}
	if size > 0 && resp.ContentLength >= 0 && resp.ContentLength != size {
		return downloadFailed(0, fmt.Errorf("GET %s: %d bytes, the manifest says %s has %d: %w",
			redact(u.String()), resp.ContentLength, *src.Digest, size, errdefs.ErrInvalid))
	}

	blob := &blobCheck{r: resp.Body, h: sha256.New(), want: *src.Digest, size: size, out: out}
	br := bufio.NewReaderSize(blob, 64<<10)
	compression, err := SniffCompression(br)
	if err != nil {
		if blob.failed() != nil {
			return downloadFailed(blob.count(), blob.failed())
		}
		return &models.LayerFetchEvent{Error: errorModel(err)}
	}
	info, err := store.WriteLayer(ctx, id, src.Parent, compression, br)
	if err != nil {
		if derr := blob.failed(); derr != nil {
			// The write broke off because the download did: that is what to report.
			return downloadFailed(blob.count(), derr)
		}
		return &models.LayerFetchEvent{Error: errorModel(err), Downloaded: blob.count()}
	}
	// The backend may have stopped reading at the tar's end: the digest covers the blob to its end.
	_, _ = io.Copy(io.Discard, br) // its failure is the blob's, below
	if derr := blob.failed(); derr != nil {
		if rerr := store.RemoveLayer(context.WithoutCancel(ctx), id); rerr != nil && !errors.Is(rerr, errdefs.ErrNotFound) {
			derr = fmt.Errorf("%w (and the layer written from it could not be removed: %v)", derr, rerr)
		}
		return downloadFailed(blob.count(), derr)
	}
	return &models.LayerFetchEvent{Layer: info, Downloaded: blob.count(), Done: true}
}

func downloadFailed(n int64, err error) *models.LayerFetchEvent {
	return &models.LayerFetchEvent{Error: errorModel(err), Download: true, Downloaded: n}
}

func errorModel(err error) *models.Error {
	class, msg := errdefs.Class(err), err.Error()
	return &models.Error{Class: &class, Message: &msg}
}

// registryClass is the class of a registry's refusal: its status, but for the statuses that say retry later.
func registryClass(status int) int {
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		return http.StatusServiceUnavailable
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound:
		return status
	}
	return http.StatusBadGateway
}

// fetchError classes a failed request: the context's end as itself, the rest as the registry unreachable.
func fetchError(u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("GET %s: %w", redact(u.String()), err)
	}
	return fmt.Errorf("GET %s: %w: %w", redact(u.String()), errdefs.ErrUnavailable, err)
}

// redact drops a URL's query, which may hold a storage service's signature.
func redact(raw string) string {
	s, _, _ := strings.Cut(raw, "?")
	return s
}

// blobCheck reads a blob, counting and hashing it: reading past the manifest's size, and the end of a blob
// whose digest is not the manifest's, fail. It reports progress as it goes and once at the end.
type blobCheck struct {
	r    io.Reader
	h    hash.Hash
	want string
	size int64
	out  *fetchEvents

	mu   sync.Mutex // Read runs in the backend's goroutine; failed and count are read from the handler's
	n    int64      // the hash (h) is Read's own
	err  error
	last time.Time
}

func (b *blobCheck) Read(p []byte) (int, error) {
	if err := b.failed(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.mu.Lock()
	b.n += int64(n)
	total := b.n
	switch {
	case b.size > 0 && total > b.size:
		b.err = fmt.Errorf("the blob %s is longer than the %d bytes the manifest says: %w", b.want, b.size, errdefs.ErrInvalid)
	case err == io.EOF:
		if b.size > 0 && total != b.size {
			b.err = fmt.Errorf("the blob %s has %d bytes, the manifest says %d: %w", b.want, total, b.size, errdefs.ErrInvalid)
		} else if got := "sha256:" + hex.EncodeToString(b.h.Sum(nil)); got != b.want {
			b.err = fmt.Errorf("the blob read has digest %s, the manifest says %s: %w", got, b.want, errdefs.ErrInvalid)
		}
	case err != nil:
		b.err = fmt.Errorf("the blob %s broke off after %d bytes: %w: %w", b.want, total, errdefs.ErrUnavailable, err)
	}
	failed := b.err
	report := err == io.EOF && failed == nil
	if now := time.Now(); !report && failed == nil && now.Sub(b.last) >= fetchProgressEvery {
		b.last, report = now, true
	}
	b.mu.Unlock()
	if failed != nil {
		return n, failed
	}
	if report {
		b.out.progress(&models.LayerFetchEvent{Downloaded: total, Done: err == io.EOF})
	}
	return n, err
}

func (b *blobCheck) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *blobCheck) count() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// fetchEvents writes FetchLayer's events, from the backend's reading goroutine and the handler's: nothing
// after the last.
type fetchEvents struct {
	mu    sync.Mutex
	w     http.ResponseWriter
	enc   *json.Encoder
	ended bool
	gone  bool // a write failed: the caller went away
}

func (f *fetchEvents) progress(ev *models.LayerFetchEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ended {
		f.writeLocked(ev)
	}
}

func (f *fetchEvents) final(ev *models.LayerFetchEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = true
	f.writeLocked(ev)
}

func (f *fetchEvents) writeLocked(ev *models.LayerFetchEvent) {
	if f.gone {
		return
	}
	if f.enc.Encode(ev) != nil {
		f.gone = true
		return
	}
	flush(f.w)
}

// SniffCompression names the compression of a layer stream from its first bytes: "gzip" or "none" (a tar).
// bzip2, xz and zstd are not supported.
func SniffCompression(br *bufio.Reader) (string, error) {
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip", nil
	case len(head) >= 3 && string(head[:3]) == "BZh",
		len(head) >= 6 && string(head[:6]) == "\xfd7zXZ\x00",
		len(head) >= 4 && string(head[:4]) == "\x28\xb5\x2f\xfd":
		return "", fmt.Errorf("layer compression (bzip2, xz or zstd) is not supported: %w", errdefs.ErrNotImplemented)
	}
	return "none", nil
}
