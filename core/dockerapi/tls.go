package dockerapi

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// DefaultTLSPort is Docker's port for the API over TLS.
const DefaultTLSPort = "2376"

// TLSOptions are dockerd's --tls, --tlsverify, --tlscacert, --tlscert and --tlskey.
type TLSOptions struct {
	Verify   bool   // require client certificates signed by CACert (--tlsverify)
	CACert   string // PEM file of the CA that signs client certificates
	Cert     string // the server's certificate, PEM
	Key      string // the server's key, PEM
	Insecure bool   // --tls alone: serve TLS without verifying clients
}

// Enabled reports whether the options ask for TLS at all.
func (o TLSOptions) Enabled() bool { return o.Verify || o.Insecure }

// Config loads the files into a server configuration: TLS 1.2 at least and, with Verify, a client
// certificate signed by the CA is required during the handshake.
func (o TLSOptions) Config() (*tls.Config, error) {
	if o.Cert == "" || o.Key == "" {
		return nil, errors.New("TLS needs --tlscert and --tlskey")
	}
	pair, err := tls.LoadX509KeyPair(o.Cert, o.Key)
	if err != nil {
		return nil, fmt.Errorf("load the server certificate %s and key %s: %w", o.Cert, o.Key, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if !o.Verify {
		return cfg, nil
	}
	if o.CACert == "" {
		return nil, errors.New("--tlsverify needs --tlscacert, the CA that signs client certificates")
	}
	pem, err := os.ReadFile(o.CACert)
	if err != nil {
		return nil, fmt.Errorf("read the CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in %s", o.CACert)
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	return cfg, nil
}
