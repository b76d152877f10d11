package transport

import (
	"context"
	"net/http"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// APIVersion is the port-layer API version, negotiated as go-plugin's protocol version. It changes when
// the port layer changes incompatibly; a manifest names the version its plugin serves.
const APIVersion = 1

// PluginName is the name under which a backend serves the port layer in its go-plugin plugin set.
const PluginName = "portlayer"

// Handshake is checked by both sides before anything else: a binary started without it, or built for
// another product, refuses to run as a plugin.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "VICE_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "d9a7a3c2-vice-portlayer",
}

// Plugin is the go-plugin plugin of the port layer: the server side serves Handler, the client side is
// an http.RoundTripper (*Client).
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Handler http.Handler
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the exchange service.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	Register(s, p.Handler)
	return nil
}

// GRPCClient returns a *Client over the plugin's connection.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn), nil
}

// PluginSets is the versioned plugin set both sides declare.
func PluginSets(h http.Handler) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{APIVersion: {PluginName: &Plugin{Handler: h}}}
}

// Window sizes large enough that one stream can carry a layer upload at full speed, and socket buffers that
// move it in few system calls.
const (
	streamWindow = 4 << 20
	connWindow   = 16 << 20
	ioBuffer     = 256 << 10
)

// ServerOptions tune the plugin's gRPC server for streaming.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.MaxRecvMsgSize(ChunkSize + 1<<20),
		grpc.WriteBufferSize(ioBuffer),
		grpc.ReadBufferSize(ioBuffer),
		// For every service of the server (go-plugin's own too): the codec leaves other messages to protobuf.
		grpc.ForceServerCodecV2(codec),
	}
}

// DialOptions tune the host's gRPC connection to match ServerOptions.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(connWindow),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(ChunkSize + 1<<20)),
		grpc.WithWriteBufferSize(ioBuffer),
		grpc.WithReadBufferSize(ioBuffer),
	}
}
