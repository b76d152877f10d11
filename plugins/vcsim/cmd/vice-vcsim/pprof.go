package main

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// Opt-in profiling, off by default: when VICE_PPROF_ADDR is set (e.g. 127.0.0.1:6060), serve
// net/http/pprof on that address only, on a private mux (nothing is added to http.DefaultServeMux).
// For example: go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30
func servePprof() {
	addr := os.Getenv("VICE_PPROF_ADDR")
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
