package portlayer_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vice-engine/vice/core/internal/plugintest"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// cannedFetch answers every request with status and body, read a byte at a time.
type cannedFetch struct {
	status int
	body   string
}

func (c cannedFetch) RoundTrip(req *http.Request) (*http.Response, error) {
	ctype := "application/x-ndjson"
	if c.status != http.StatusOK {
		ctype = "application/json"
	}
	return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {ctype}},
		Body: io.NopCloser(iotest.OneByteReader(strings.NewReader(c.body))), Request: req}, nil
}

func fetchSource() *models.LayerSource {
	url, digest := "http://registry.invalid/v2/x/blobs/sha256:00", "sha256:"+strings.Repeat("0", 64)
	return &models.LayerSource{URL: &url, Digest: &digest}
}

const fetchID = "1111111111111111111111111111111111111111111111111111111111111111"

func TestFetchLayerEvents(t *testing.T) {
	body := `{"downloaded":10}` + "\n" + `{"downloaded":20,"done":true}` + "\n" +
		`{"downloaded":20,"done":true,"layer":{"id":"` + fetchID + `","size":5,"diffId":"sha256:ab"}}`
	c := portlayer.New(plugintest.Name, cannedFetch{http.StatusOK, body})
	var seen []int64
	l, err := c.FetchLayer(t.Context(), fetchID, fetchSource(), func(ev *models.LayerFetchEvent) {
		seen = append(seen, ev.Downloaded)
	})
	if err != nil || l == nil || *l.ID != fetchID || l.DiffID != "sha256:ab" {
		t.Fatalf("FetchLayer = %+v, %v", l, err)
	}
	if len(seen) != 2 || seen[0] != 10 || seen[1] != 20 {
		t.Errorf("progress = %v, want [10 20]", seen)
	}
}

func TestFetchLayerErrors(t *testing.T) {
	for _, c := range []struct {
		name     string
		answer   cannedFetch
		class    error
		download bool
		fetchErr bool // a *portlayer.FetchError
	}{
		{"the download's", cannedFetch{http.StatusOK, `{"downloaded":7}` + "\n" +
			`{"downloaded":7,"download":true,"error":{"class":"unavailable","message":"the blob broke off"}}` + "\n"},
			errdefs.ErrUnavailable, true, true},
		{"the write's", cannedFetch{http.StatusOK,
			`{"error":{"class":"conflict","message":"layer exists"}}` + "\n"}, errdefs.ErrConflict, false, true},
		{"an answer cut short", cannedFetch{http.StatusOK, `{"downloaded":7}` + "\n"}, errdefs.ErrUnavailable, false, false},
		{"a refused request", cannedFetch{http.StatusBadRequest, `{"class":"invalid","message":"bad url"}`},
			errdefs.ErrInvalid, false, false},
		{"not an event", cannedFetch{http.StatusOK, "<html>\n"}, errdefs.ErrSystem, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pl := portlayer.New(plugintest.Name, c.answer)
			_, err := pl.FetchLayer(t.Context(), fetchID, fetchSource(), nil)
			if !errors.Is(err, c.class) || errors.Is(err, portlayer.ErrFetchUnsupported) {
				t.Fatalf("FetchLayer = %v (class %s)", err, errdefs.Class(err))
			}
			var fe *portlayer.FetchError
			if errors.As(err, &fe) != c.fetchErr || (fe != nil && fe.Download != c.download) {
				t.Errorf("FetchLayer = %#v", err)
			}
			if fe != nil && c.download && fe.Downloaded != 7 {
				t.Errorf("downloaded %d, want 7", fe.Downloaded)
			}
		})
	}
}

// A port layer without FetchLayer: one whose router does not know it, and a backend with no layer store.
func TestFetchLayerUnsupported(t *testing.T) {
	for name, rt := range map[string]http.RoundTripper{
		"unknown operation": cannedFetch{http.StatusNotFound, `{"class":"not_found","message":"path not found"}`},
		"no layer store":    launchPingOnly(t),
	} {
		_, err := portlayer.New(plugintest.Name, rt).FetchLayer(t.Context(), fetchID, fetchSource(), nil)
		if !errors.Is(err, portlayer.ErrFetchUnsupported) {
			t.Errorf("%s: FetchLayer = %v, want ErrFetchUnsupported", name, err)
		}
	}
}
