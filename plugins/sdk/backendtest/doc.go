// Package backendtest is the conformance suite every backend passes: the same scripted port-layer
// operations, sent through the real plugin transport (go-plugin, gRPC, the generated client), against a
// backend plugin process. A backend's test calls Run with a function that launches its plugin. The
// container subtests boot real guests from a busybox image the suite writes through the port layer's
// layer store (a static busybox on the machine, Debian's busybox-static), so they need no registry.
package backendtest
