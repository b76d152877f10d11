package vch

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// The registry settings of create and configure, as dockerd and VIC take them: --registry-mirror (Docker
// Hub names are pulled through it), --whitelist-registry (the only registries the VCH reaches) and
// --registry-ca (more CA certificates for registries' TLS). vice-engine applies them; these checks only
// refuse what it would refuse, before anything is made.

// checkMirror refuses a mirror vice-engine would: not http(s)://host[:port], or with a path.
func checkMirror(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--registry-mirror %q: a mirror is https://host[:port] (or http:// for a plain HTTP one)", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--registry-mirror %q: a mirror has no path, query or fragment", raw)
	}
	return nil
}

// checkWhitelistEntry refuses what is not a host, host:port, CIDR or *.domain.
func checkWhitelistEntry(raw string) error {
	e := strings.TrimSuffix(raw, "/")
	if _, rest, ok := strings.Cut(e, "://"); ok {
		e = rest
	}
	if _, _, err := net.ParseCIDR(e); err == nil {
		return nil
	}
	if e == "" || strings.ContainsAny(strings.TrimPrefix(e, "*."), "/ *") {
		return fmt.Errorf("--whitelist-registry %q: an entry is a host, host:port, CIDR or *.domain", raw)
	}
	return nil
}

// readRegistryCAs reads the PEM files of --registry-ca, each of which must hold certificates, into one
// bundle.
func readRegistryCAs(files []string) (string, error) {
	var bundle strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("--registry-ca: %w", err)
		}
		n := 0
		for rest := data; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return "", fmt.Errorf("--registry-ca %s: %w", f, err)
			}
			if err := pem.Encode(&bundle, b); err != nil {
				return "", err
			}
			n++
		}
		if n == 0 {
			return "", fmt.Errorf("--registry-ca %s holds no PEM certificate", f)
		}
	}
	return bundle.String(), nil
}

// registrySettings checks the registry flags and returns the CA bundle, adding each problem to is.
func registrySettings(is *issues, mirrors, whitelist, caFiles []string) string {
	for _, m := range mirrors {
		is.add(checkMirror(m))
	}
	for _, w := range whitelist {
		is.add(checkWhitelistEntry(w))
	}
	cas, err := readRegistryCAs(caFiles)
	is.add(err)
	return cas
}
