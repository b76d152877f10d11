// Package transport carries the port layer's HTTP exchanges over a gRPC connection, the one go-plugin
// sets up between the core and a backend plugin. Each exchange is one bidirectional gRPC stream: the client
// sends the request head and its body in frames, the server answers with the response head and its body.
// Both directions stream with gRPC's flow control, so large uploads and long event streams have
// back-pressure, and an upgraded (hijacked) exchange is a full-duplex byte stream, which attach relies on.
//
// gRPC messages are protobuf BytesValue wrappers holding our own frames, so no generated protobuf code is
// needed: frame kind 'H' is a head (binary, see frame.go; JSON from earlier versions) optionally followed
// by the first body bytes, 'D' is body data, and 'E' ends the request body while keeping the stream open
// for an upgrade. Both sides use a codec (codec.go) that moves frames without copying them into and out of
// protobuf messages; the bytes on the wire are the same.
package transport
