package vch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
)

// normalizeThumbprint turns a SHA-1 or SHA-256 thumbprint, with or without colons, in either case, into
// govmomi's form: upper-case hex pairs joined by colons.
func normalizeThumbprint(s string) (string, error) {
	clean := strings.ToUpper(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
	if _, err := hex.DecodeString(clean); err != nil || (len(clean) != 40 && len(clean) != 64) {
		return "", fmt.Errorf("--thumbprint %q is not a SHA-1 or SHA-256 thumbprint (colon-separated hex, e.g. AB:CD:...)", s)
	}
	pairs := make([]string, 0, len(clean)/2)
	for i := 0; i < len(clean); i += 2 {
		pairs = append(pairs, clean[i:i+2])
	}
	return strings.Join(pairs, ":"), nil
}

// serverCertificate fetches the certificate the target presents on host (host or host:port) and reports
// whether the system's trusted authorities vouch for it.
func serverCertificate(ctx context.Context, host string) (*x509.Certificate, bool, error) {
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "443")
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second}, Config: &tls.Config{InsecureSkipVerify: true}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	if len(state.PeerCertificates) == 0 {
		return nil, false, fmt.Errorf("%s presented no certificate", addr)
	}
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	name, _, _ := net.SplitHostPort(addr)
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: name, Intermediates: inter})
	return leaf, verr == nil, nil
}

// checkThumbprint decides whether to trust cert: a given thumbprint must match it (SHA-1 or SHA-256); with
// none, the certificate must be trusted. It returns the certificate's SHA-256 thumbprint, which the
// appliance pins.
func checkThumbprint(host, given string, cert *x509.Certificate, trusted bool) (string, error) {
	sha256 := soap.ThumbprintSHA256(cert)
	sha1 := soap.ThumbprintSHA1(cert)
	if given != "" {
		want, err := normalizeThumbprint(given)
		if err != nil {
			return "", err
		}
		if want != sha256 && want != sha1 {
			return "", fmt.Errorf("the certificate of %s does not match --thumbprint %s: its thumbprint is %s; "+
				"if you trust that certificate, pass --thumbprint=%s", host, given, sha256, sha256)
		}
		return sha256, nil
	}
	if !trusted {
		return "", fmt.Errorf("failed to verify certificate for target=%s (thumbprint=%s): it is not signed by a "+
			"trusted authority; if that thumbprint is the target's, pass --thumbprint=%s", host, sha256, sha256)
	}
	return sha256, nil
}

// pinned verifies that the server's certificate has the SHA-256 thumbprint tp.
func pinned(tp string) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return fmt.Errorf("the target presented no certificate")
		}
		cert, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		if got := soap.ThumbprintSHA256(cert); got != tp {
			return fmt.Errorf("the target's certificate changed: thumbprint %s, expected %s", got, tp)
		}
		return nil
	}
}
