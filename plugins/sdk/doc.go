// Package sdk is what a vice backend plugin is built from: the Go interfaces a backend implements, the
// adapter that serves them as the port-layer API generated from swagger/portlayer.yaml, and Serve, the one
// call a plugin's main makes. The transport itself lives in sdk/transport, error classes in sdk/errdefs.
package sdk
