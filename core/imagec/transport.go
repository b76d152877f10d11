package imagec

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"

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

// allows reports whether host ("name[:port]") is an insecure registry.
func (p insecurePolicy) allows(host string) bool {
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
	if hostname == "localhost" || ip != nil && ip.IsLoopback() {
		return true
	}
	for _, n := range p.nets {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// policyTransport refuses plain HTTP to registries the policy does not allow, and skips TLS verification
// for those it does.
type policyTransport struct {
	policy   insecurePolicy
	verified http.RoundTripper
	skipTLS  http.RoundTripper
}

func newPolicyTransport(p insecurePolicy) *policyTransport {
	base := http.DefaultTransport.(*http.Transport)
	verified := base.Clone()
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
	if allowed {
		return t.skipTLS.RoundTrip(req)
	}
	return t.verified.RoundTrip(req)
}
