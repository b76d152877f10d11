package appliance

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestMain makes this test binary a fake vice-engine when started under that name (testRoot links it as
// the root's bin/vice-engine).
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "vice-engine" {
		os.Exit(fakeEngine(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeEngine takes vice-engine's flags, records them in <dir>/engine-args.json, answers /_ping on every
// -H and exits on SIGTERM. A file "crash" in its directory holding N > 0 makes it exit 3 after counting
// the file down, as an engine that cannot start.
func fakeEngine(args []string) int {
	fs := flag.NewFlagSet("vice-engine", flag.ContinueOnError)
	var hosts, registries list
	fs.Var(&hosts, "H", "")
	fs.Var(&registries, "insecure-registry", "")
	pluginsDir := fs.String("plugins-dir", "", "")
	fs.String("backend", "", "")
	fs.Bool("debug", false, "")
	tlsOn := fs.Bool("tls", false, "")
	verify := fs.Bool("tlsverify", false, "")
	caFile := fs.String("tlscacert", "", "")
	certFile := fs.String("tlscert", "", "")
	keyFile := fs.String("tlskey", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fmt.Fprintln(os.Stderr, "fake engine starting", strings.Join(args, " "))
	dir, _ := os.Getwd()
	if b, err := os.ReadFile(filepath.Join(dir, "crash")); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n > 0 {
			_ = os.WriteFile(filepath.Join(dir, "crash"), []byte(strconv.Itoa(n-1)), 0o644)
			fmt.Fprintln(os.Stderr, "fake engine: crashing as asked")
			return 3
		}
	}
	if _, err := os.Stat(*pluginsDir); err != nil {
		fmt.Fprintln(os.Stderr, "fake engine:", err)
		return 1
	}
	b, _ := json.Marshal(args)
	_ = os.WriteFile(filepath.Join(dir, "engine-args.json"), b, 0o644)

	var tlsConfig *tls.Config
	if *tlsOn || *verify {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake engine:", err)
			return 1
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if *verify {
			pem, err := os.ReadFile(*caFile)
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				fmt.Fprintln(os.Stderr, "fake engine: bad CA", err)
				return 1
			}
			tlsConfig.ClientCAs, tlsConfig.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "OK") })
	for _, h := range hosts {
		scheme, addr, _ := strings.Cut(h, "://")
		l, err := net.Listen(map[string]string{"unix": "unix", "tcp": "tcp"}[scheme], addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake engine:", err)
			return 1
		}
		if scheme == "tcp" && tlsConfig != nil {
			l = tls.NewListener(l, tlsConfig)
		}
		go func() { _ = http.Serve(l, mux) }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Fprintln(os.Stderr, "fake engine stopping")
	return 0
}

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }
