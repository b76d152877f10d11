package soapconn

import (
	"io"
	"net/http"
)

// maxDrain bounds what closing a body reads to keep its connection: the end of a chunked body is a few
// bytes; a body left with more than this unread (an abandoned download) is cheaper dropped with its
// connection.
const maxDrain = 64 << 10

// Drain returns next with every response body read to its end (within maxDrain) when it is closed. A
// cancelled request's body fails at once, so the drain never outlasts the request's context.
func Drain(next http.RoundTripper) http.RoundTripper { return drainingTransport{next} }

type drainingTransport struct{ next http.RoundTripper }

func (t drainingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err == nil && res.Body != nil {
		res.Body = drainOnClose{res.Body}
	}
	return res, err
}

// drainOnClose is a response body that is read to its end (within maxDrain) before it is closed.
type drainOnClose struct{ io.ReadCloser }

func (b drainOnClose) Close() error {
	_, _ = io.CopyN(io.Discard, b.ReadCloser, maxDrain)
	return b.ReadCloser.Close()
}
