package imagec

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// WithMirrors sets the mirrors that Docker Hub names are pulled through, tried in order before Docker Hub
// itself (dockerd's --registry-mirror): "https://host[:port]" or, for a plain HTTP mirror, "http://...".
func WithMirrors(urls ...string) Option {
	return func(c *Client) { c.mirrorURLs = append(c.mirrorURLs, urls...) }
}

// WithRegistryCAs adds CA certificates (PEM) that registries' certificates may be signed by, besides the
// system's (VIC's --registry-ca).
func WithRegistryCAs(pem ...[]byte) Option {
	return func(c *Client) { c.caPEMs = append(c.caPEMs, pem...) }
}

// WithWhitelist restricts the registries reached to those listed, and the insecure ones (VIC's
// --whitelist-registry): a host, host:port, CIDR or "*.domain" each.
func WithWhitelist(entries ...string) Option {
	return func(c *Client) { c.whitelistRaw = append(c.whitelistRaw, entries...) }
}

// mirror is one registry mirror.
type mirror struct {
	url  string // normalised: scheme://host/
	host string
}

// parseMirror checks a mirror URL as dockerd does: http or https, a host, nothing after it.
func parseMirror(raw string) (mirror, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return mirror{}, fmt.Errorf("invalid mirror: %q is not a valid URI: %w", raw, errdefs.ErrInvalid)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return mirror{}, fmt.Errorf("invalid mirror: path, query, or fragment at end of the URI %q: %w", raw, errdefs.ErrInvalid)
	}
	return mirror{url: u.Scheme + "://" + u.Host + "/", host: u.Host}, nil
}

// certPool is the system's pool with the extra CAs.
func certPool(pems [][]byte) (*x509.CertPool, error) {
	if len(pems) == 0 {
		return nil, nil // the system's
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for i, p := range pems {
		if !pool.AppendCertsFromPEM(p) {
			return nil, fmt.Errorf("registry CA %d holds no PEM certificate: %w", i+1, errdefs.ErrInvalid)
		}
	}
	return pool, nil
}

// whitelist is VIC's allow-list of registries; empty allows every registry.
type whitelist struct {
	entries []string
	hosts   map[string]bool // host or host:port
	nets    []*net.IPNet
	domains []string // ".example.com" of "*.example.com"
}

func newWhitelist(entries []string) (whitelist, error) {
	w := whitelist{entries: entries, hosts: map[string]bool{}}
	for _, e := range entries {
		e = strings.TrimSuffix(strings.TrimSpace(e), "/")
		if _, rest, ok := strings.Cut(e, "://"); ok {
			e = rest
		}
		switch {
		case e == "":
		case strings.HasPrefix(e, "*."):
			w.domains = append(w.domains, strings.ToLower(e[1:]))
		default:
			if _, n, err := net.ParseCIDR(e); err == nil {
				w.nets = append(w.nets, n)
				continue
			}
			if strings.ContainsAny(e, "/ *") {
				return w, fmt.Errorf("whitelisted registry %q is not a host, host:port, CIDR or *.domain: %w", e, errdefs.ErrInvalid)
			}
			w.hosts[hubAlias(strings.ToLower(e))] = true
		}
	}
	return w, nil
}

// hubAlias names Docker Hub one way, whichever of its names is given.
func hubAlias(host string) string {
	switch host {
	case "docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return name.DefaultRegistry
	}
	return host
}

// allows reports whether registry ("host[:port]") may be reached.
func (w whitelist) allows(registry string) bool {
	if len(w.entries) == 0 {
		return true
	}
	registry = hubAlias(strings.ToLower(registry))
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	if w.hosts[registry] || w.hosts[host] {
		return true
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		for _, n := range w.nets {
			if n.Contains(ip) {
				return true
			}
		}
	}
	for _, d := range w.domains {
		if strings.HasSuffix(host, d) {
			return true
		}
	}
	return false
}

// checkRegistry refuses a registry outside the whitelist with VIC's message; insecure registries named by
// --insecure-registry and mirrors count as whitelisted.
func (c *Client) checkRegistry(registry string) error {
	if c.whitelist.allows(registry) || c.policy.named(registry) || c.isMirror(registry) {
		return nil
	}
	return fmt.Errorf("Access denied to unauthorized registry (%s) while VCH is in whitelist mode: %w", registry, errdefs.ErrForbidden)
}

func (c *Client) isMirror(registry string) bool {
	for _, m := range c.mirrors {
		if m.host == registry {
			return true
		}
	}
	return false
}

// ServiceConfig is the registry configuration as `docker info` shows it: the insecure registries (loopback
// ones always) and the mirrors of Docker Hub.
func (c *Client) ServiceConfig() registry.ServiceConfig {
	var mirrors []string
	for _, m := range c.mirrors {
		mirrors = append(mirrors, m.url)
	}
	cfg := registry.ServiceConfig{
		InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("127.0.0.0/8")},
		IndexConfigs: map[string]*registry.IndexInfo{
			"docker.io": {Name: "docker.io", Mirrors: nonNilStrings(mirrors), Secure: true, Official: true},
		},
		Mirrors: mirrors,
	}
	for _, n := range c.policy.nets {
		if p, err := netip.ParsePrefix(n.String()); err == nil {
			cfg.InsecureRegistryCIDRs = append(cfg.InsecureRegistryCIDRs, p)
		}
	}
	for _, h := range c.policy.hosts {
		cfg.IndexConfigs[h] = &registry.IndexInfo{Name: h, Mirrors: []string{}, Secure: false}
	}
	return cfg
}

// Whitelist is the allow-list of registries, as given; empty when every registry may be reached.
func (c *Client) Whitelist() []string { return append([]string(nil), c.whitelist.entries...) }

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
