// Package portlayer is the core's typed client of the port layer: the generated go-swagger client bound to
// any http.RoundTripper (the plugin transport in production, an in-process handler in tests), with every error
// rebuilt into its errdefs class so that the Docker API layer can map it once.
package portlayer
