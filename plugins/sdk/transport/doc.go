// Package transport carries the port layer's HTTP exchanges over a gRPC connection, the one go-plugin
// sets up between the core and a backend plugin.
//
// Most exchanges are short: a request without a body or with a small one, and a small response. They ride
// on lanes, long-lived bidirectional streams (the Lane method) that carry one exchange after another, as
// HTTP/1.1 keep-alive connections do: the client sends the request head with the whole body inline, the
// server answers with the response head and body and marks its end, and the lane goes back to the client's
// pool of idle lanes. A response may stream for as long as its handler writes (logs, events, waits); its
// lane is busy meanwhile. An exchange abandoned half-way cancels its lane, which is never reused.
//
// An exchange whose request body is large or of unknown length (a layer upload, an archive), and an
// upgrade, is a bidirectional stream of its own (the Exchange method): the client sends the request head
// and its body in frames, the server answers with the response head and its body, and the end of the
// stream ends the exchange. Both directions stream with gRPC's flow control, so large uploads and long
// event streams have back-pressure, and an upgraded (hijacked) exchange is a full-duplex byte stream, which
// attach relies on.
//
// gRPC messages are protobuf BytesValue wrappers holding our own frames, so no generated protobuf code is
// needed: frame kind 'H' is a head (binary, see frame.go; JSON from earlier versions) optionally followed by
// the first body bytes, 'D' is body data, 'E' ends a request body (keeping the stream open for an upgrade)
// or a response on a lane, and 'L' is data that ends a response on a lane. Both sides use a codec
// (codec.go) that moves frames without copying them into and out of protobuf messages; the bytes on the
// wire are the same.
package transport
