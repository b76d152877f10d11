// Package pltest helps the core's tests: an in-memory backend served through the port layer's real
// generated server (sdk.NewHandler) and an http.RoundTripper that carries requests to a handler in-process,
// streaming responses as the handler writes them.
package pltest
