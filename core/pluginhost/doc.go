// Package pluginhost runs the backend plugins of a VCH endpoint. It reads the registry of plugin manifests,
// starts each plugin with hashicorp/go-plugin (checking its checksum, handshake and API version), hands out
// an http.RoundTripper per plugin for the port-layer client, health-checks the plugins, restarts a crashed
// one with back-off, and stops them all on shutdown. It is the only user of go-plugin in the core.
package pluginhost
