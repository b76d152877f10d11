package dockerapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A handler that panics after its response began (a stream) cuts the connection: the client must not read a
// short stream as a complete one.
func TestPanicMidStreamCutsTheResponse(t *testing.T) {
	h := logRequests(slog.New(slog.DiscardHandler), recoverPanics(slog.New(slog.DiscardHandler),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"stream":"Step 1/2"}`+"\n")
			w.(http.Flusher).Flush()
			var m map[string]int
			m["boom"]++ // a nil map: the panic of a defect
		})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/build")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("the stream ended cleanly after a panic: %q", body)
	}
	if !strings.Contains(string(body), "Step 1/2") {
		t.Errorf("the part written before the panic is lost: %q", body)
	}
}
