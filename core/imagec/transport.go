package imagec

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// insecurePolicy says which registries may be reached over plain HTTP or with unverified TLS: those named by
// --insecure-registry (a host, host:port or CIDR) and, as in Docker, every loopback registry.
type insecurePolicy struct {
	hosts []string
	nets  []*net.IPNet
}

func newInsecurePolicy(entries []string) (insecurePolicy, error) {
	var p insecurePolicy
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if _, rest, ok := strings.Cut(e, "://"); ok {
			e = rest
		}
		e = strings.TrimSuffix(e, "/")
		if e == "" {
			continue
		}
		if _, n, err := net.ParseCIDR(e); err == nil {
			p.nets = append(p.nets, n)
			continue
		}
		if strings.ContainsAny(e, "/ ") {
			return p, fmt.Errorf("insecure registry %q is not a host, host:port or CIDR: %w", e, errdefs.ErrInvalid)
		}
		p.hosts = append(p.hosts, e)
	}
	return p, nil
}

// named reports whether host ("name[:port]") is one of the insecure registries named (loopback ones aside).
func (p insecurePolicy) named(host string) bool {
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	for _, h := range p.hosts {
		if h == host || h == hostname {
			return true
		}
	}
	ip := net.ParseIP(strings.Trim(hostname, "[]"))
	for _, n := range p.nets {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// allows reports whether host ("name[:port]") is an insecure registry: a named one, or a loopback one.
func (p insecurePolicy) allows(host string) bool {
	if p.named(host) {
		return true
	}
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	ip := net.ParseIP(strings.Trim(hostname, "[]"))
	return hostname == "localhost" || ip != nil && ip.IsLoopback()
}

// policyTransport refuses plain HTTP to registries the policy does not allow, and skips TLS verification
// for those it does.
type policyTransport struct {
	policy   insecurePolicy
	verified http.RoundTripper
	skipTLS  http.RoundTripper
}

func newPolicyTransport(p insecurePolicy, roots *x509.CertPool) *policyTransport {
	base := http.DefaultTransport.(*http.Transport)
	verified := base.Clone()
	if roots != nil {
		verified.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	skip := base.Clone()
	skip.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only for --insecure-registry hosts
	return &policyTransport{policy: p, verified: verified, skipTLS: skip}
}

func (t *policyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	allowed := t.policy.allows(req.URL.Host)
	if req.URL.Scheme == "http" && !allowed {
		return nil, fmt.Errorf("registry %s: plain HTTP is allowed for --insecure-registry registries only: %w",
			req.URL.Host, errdefs.ErrForbidden)
	}
	if c, ok := req.Context().Value(captureKey{}).(*blobCapture); ok && req.Method == http.MethodGet && req.URL.Path == c.path {
		return c.keep(req, allowed), nil
	}
	if allowed {
		return t.skipTLS.RoundTrip(req)
	}
	return t.verified.RoundTrip(req)
}

// captureKey marks a context whose blob request is kept (blobCapture) rather than sent.
type captureKey struct{}

// blobCapture keeps the GET of one blob path as the registry client would send it, authorization and all, and
// answers it with an empty body that is never read.
type blobCapture struct {
	path string

	mu       sync.Mutex
	url      string
	header   http.Header
	insecure bool
}

func (c *blobCapture) keep(req *http.Request, insecure bool) *http.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.url, c.header, c.insecure = req.URL.String(), req.Header.Clone(), insecure
	return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, ContentLength: -1, Request: req}
}
