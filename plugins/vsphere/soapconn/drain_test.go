package soapconn

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestDrainingTransportKeepsConnections reads a chunked response up to its data only, as govmomi's XML
// decoder does, and closes it before the body's last chunk has come: without the drain the connection is
// dropped, with it the connection is used again.
func TestDrainKeepsConnections(t *testing.T) {
	const size = 20 << 10
	read := make(chan struct{}, 1) // the client has read the data; the handler may end the body
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), size))
		w.(http.Flusher).Flush() // the data now; the end of the chunked body once the handler returns
		select {
		case <-read:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	for _, tc := range []struct {
		name  string
		rt    http.RoundTripper
		conns int32
	}{
		{"plain", srv.Client().Transport.(*http.Transport).Clone(), 2},
		{"draining", Drain(srv.Client().Transport.(*http.Transport).Clone()), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns.Store(0)
			c := &http.Client{Transport: tc.rt}
			defer c.CloseIdleConnections()
			for range 2 {
				res, err := c.Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
					t.Fatalf("response not chunked: %v", res.TransferEncoding)
				}
				if _, err := io.ReadFull(res.Body, make([]byte, size)); err != nil {
					t.Fatal(err)
				}
				read <- struct{}{}
				if err := res.Body.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if got := conns.Load(); got != tc.conns {
				t.Fatalf("%d connections for 2 requests, want %d", got, tc.conns)
			}
		})
	}
}
