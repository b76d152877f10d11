// Package pprofenv serves net/http/pprof when an environment variable names an address. Every vice
// daemon (the endpoint, its plugins, the simulator) calls it first thing in main; it is off by default.
package pprofenv

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// Serve starts serving pprof on the address in the environment variable env (e.g. 127.0.0.1:6060), on a
// private mux, so nothing is added to http.DefaultServeMux. For example:
// go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30
func Serve(env string) {
	addr := os.Getenv(env)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.ListenAndServe(addr, mux) }()
}
