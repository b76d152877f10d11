package certs

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"time"
)

// Organization is the subject organization of every certificate made here.
const Organization = "vice"

// NewCA makes a self-signed certificate authority for the VCH name.
func NewCA(name string) (*KeyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " CA", Organization: []string{Organization}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, nil, nil, key)
}

// ServerNames are what a server certificate is valid for: addresses and DNS names (each --tls-cname is
// either). CommonName defaults to the first name.
type ServerNames struct {
	CommonName string
	IPs        []net.IP
	DNSNames   []string
}

// Add puts a name in the IPs or DNSNames, as it parses, once.
func (n *ServerNames) Add(name string) {
	if name == "" {
		return
	}
	if ip := net.ParseIP(name); ip != nil {
		for _, have := range n.IPs {
			if have.Equal(ip) {
				return
			}
		}
		n.IPs = append(n.IPs, ip)
		return
	}
	for _, have := range n.DNSNames {
		if have == name {
			return
		}
	}
	n.DNSNames = append(n.DNSNames, name)
}

// IssueServer signs a server certificate for names with the CA.
func (ca *KeyPair) IssueServer(names ServerNames) (*KeyPair, error) {
	if len(names.IPs) == 0 && len(names.DNSNames) == 0 {
		return nil, errors.New("a server certificate needs at least one address or name")
	}
	cn := names.CommonName
	if cn == "" {
		if len(names.IPs) > 0 {
			cn = names.IPs[0].String()
		} else {
			cn = names.DNSNames[0]
		}
	}
	return ca.issueLeaf(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{Organization}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: names.IPs,
		DNSNames:    names.DNSNames,
	})
}

// IssueClient signs a client certificate (the docker CLI's) with the CA.
func (ca *KeyPair) IssueClient(cn string) (*KeyPair, error) {
	return ca.issueLeaf(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{Organization}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// issueLeaf signs tmpl (its subject, usage and names) with the CA for a new key, valid from a little before
// now for LeafValidity.
func (ca *KeyPair) issueLeaf(tmpl *x509.Certificate) (*KeyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-backdate), now.Add(LeafValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	return sign(tmpl, ca.Cert, ca.Key, key)
}

// Verify checks that leaf chains to ca for the usage (x509.ExtKeyUsageServerAuth or ClientAuth); for a
// server certificate, host (an address or DNS name) must be one of its names unless empty.
func Verify(ca, leaf *x509.Certificate, usage x509.ExtKeyUsage, host string) error {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return fmt.Errorf("certificate %q: %w", leaf.Subject.CommonName, err)
	}
	return nil
}

// Covers reports whether cert names every one of names (addresses or DNS names).
func Covers(cert *x509.Certificate, names ...string) bool {
	for _, n := range names {
		if n != "" && cert.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}
