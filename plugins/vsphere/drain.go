package vsphere

import (
	"io"
	"net/http"
)

// drainLimit is how much of a response body that is closed unread is still read, so its connection goes
// back to the idle pool.
const drainLimit = 64 << 10

// drainingTransport reads what is left of a response body (up to drainLimit) when it is closed. govmomi's
// SOAP client closes a response as soon as its XML decoder has the envelope, before the body's end (the
// last chunk of a chunked response): Go's transport then closes the connection rather than reuse it, and
// the next call to vSphere pays a new TCP connection and TLS handshake (one per `docker ps` of a large pool).
type drainingTransport struct{ next http.RoundTripper }

func (t drainingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err == nil && res.Body != nil {
		res.Body = drainOnClose{res.Body}
	}
	return res, err
}

// drainOnClose is a response body that is read to its end (within drainLimit) before it is closed.
type drainOnClose struct{ io.ReadCloser }

func (b drainOnClose) Close() error {
	_, _ = io.CopyN(io.Discard, b.ReadCloser, drainLimit)
	return b.ReadCloser.Close()
}
