package backendtest

import (
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// Launch starts the plugin executable exe with args, as the endpoint would (handshake, gRPC, API
// version), and returns its port-layer RoundTripper. The process is stopped when the test ends.
func Launch(t testing.TB, exe string, args ...string) http.RoundTripper {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = os.Environ()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  transport.Handshake,
		VersionedPlugins: transport.PluginSets(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  transport.DialOptions(),
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn, Output: os.Stderr}),
	})
	t.Cleanup(client.Kill)
	proto, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin %s: %v", exe, err)
	}
	raw, err := proto.Dispense(transport.PluginName)
	if err != nil {
		t.Fatalf("dispense the port layer of %s: %v", exe, err)
	}
	return raw.(http.RoundTripper)
}
