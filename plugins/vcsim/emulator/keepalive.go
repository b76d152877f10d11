package emulator

import (
	"io"
	"net/http"
)

// drainingTransport keeps the emulator's connections to the simulator reusable. govmomi's SOAP client closes
// a response's body as soon as its XML decoder has read the envelope. The simulator sends a large response
// (a VM's configuration is some 14 KB) chunked, and the empty chunk that ends it is often still unread then;
// Go's transport drops a connection whose body is closed before its end. So every boot's read of its VM
// cost a connection, and a later call dialled a new one: a TCP and TLS handshake, two with a pinned
// thumbprint (the first refused by certificate verification: "bad certificate" in the simulator's log).
type drainingTransport struct{ http.RoundTripper }

func (t drainingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.RoundTripper.RoundTrip(r)
	if err == nil && res.Body != nil {
		res.Body = drainOnClose{res.Body}
	}
	return res, err
}

// maxDrain bounds what closing a body reads to keep its connection: the end of a chunked body is a few
// bytes; a body left with more than this unread (an abandoned download) is cheaper dropped with its
// connection.
const maxDrain = 4 << 10

// drainOnClose reads what is left of a body, up to maxDrain, before closing it. A cancelled request's body
// fails at once, so the drain never outlasts the request's context.
type drainOnClose struct{ io.ReadCloser }

func (b drainOnClose) Close() error {
	_, _ = io.CopyN(io.Discard, b.ReadCloser, maxDrain)
	return b.ReadCloser.Close()
}
