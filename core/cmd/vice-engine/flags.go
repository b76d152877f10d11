package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/vice-engine/vice/core/dockerapi"
)

// defaultHosts are served when no -H is given.
var defaultHosts = []string{"unix://" + dockerapi.DefaultUnixSocket, "tcp://127.0.0.1:" + dockerapi.DefaultTCPPort}

// hostList collects repeated -H/--host flags.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	*h = append(*h, v)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var hosts hostList
	fs := flag.NewFlagSet("vice-engine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&hosts, "H", "daemon socket to listen on, repeatable: unix:///path or tcp://host:port (default "+
		strings.Join(defaultHosts, " and ")+")")
	fs.Var(&hosts, "host", "same as -H")
	fs.StringVar(&cfg.pluginsDir, "plugins-dir", "/etc/vice/plugins", "registry directory of backend plugins")
	fs.StringVar(&cfg.backend, "backend", "", "backend plugin to serve from (default: the only registered one)")
	fs.Var((*hostList)(&cfg.insecureRegistries), "insecure-registry",
		"registry (host, host:port or CIDR) reachable over plain HTTP or unverified TLS, repeatable; loopback registries always are")
	fs.Var((*hostList)(&cfg.registryMirrors), "registry-mirror",
		"mirror that Docker Hub images are pulled through, repeatable: https://host[:port] (http:// for a plain HTTP one)")
	fs.Var((*hostList)(&cfg.registryCAs), "registry-ca", "CA certificate file (PEM) registries may be signed by, repeatable")
	fs.Var((*hostList)(&cfg.whitelist), "whitelist-registry",
		"reach only these registries (host, host:port, CIDR or *.domain), repeatable; insecure registries and mirrors count as listed")
	fs.Func("dns", "name server for containers whose run names none, repeatable (dockerd's --dns)", func(v string) error {
		if _, err := netip.ParseAddr(v); err != nil {
			return fmt.Errorf("%q is not an IP address", v)
		}
		cfg.dns = append(cfg.dns, v)
		return nil
	})
	fs.BoolVar(&cfg.debug, "debug", false, "log at debug level, every request included")
	fs.BoolVar(&cfg.tls.Insecure, "tls", false, "serve TLS on tcp:// addresses (implied by --tlsverify)")
	fs.BoolVar(&cfg.tls.Verify, "tlsverify", false, "serve TLS and require client certificates signed by --tlscacert")
	fs.StringVar(&cfg.tls.CACert, "tlscacert", "", "CA certificate (PEM) that client certificates must be signed by")
	fs.StringVar(&cfg.tls.Cert, "tlscert", "", "the server's TLS certificate (PEM)")
	fs.StringVar(&cfg.tls.Key, "tlskey", "", "the server's TLS key (PEM)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.hosts = hosts
	if len(cfg.hosts) == 0 {
		cfg.hosts = defaultHosts
		if cfg.tls.Enabled() { // dockerd's default TCP port with TLS is 2376
			cfg.hosts = []string{defaultHosts[0], "tcp://127.0.0.1:" + dockerapi.DefaultTLSPort}
		}
	}
	if cfg.tls.Enabled() {
		tc, err := cfg.tls.Config()
		if err != nil {
			fmt.Fprintln(stderr, "vice-engine:", err)
			return cfg, err
		}
		cfg.tlsConfig = tc
	}
	return cfg, nil
}
