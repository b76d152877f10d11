package appliance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Certificate files in the state directory, as vice-engine's --tlscacert, --tlscert and --tlskey name them.
const (
	CACertFile     = "ca.pem"
	ServerCertFile = "server-cert.pem"
	ServerKeyFile  = "server-key.pem"
)

// material is a checked vchwire.ApplianceTLS, its server key opened.
type material struct {
	raw    string // the guestinfo value it was read from
	wire   vchwire.ApplianceTLS
	keyPEM []byte
	cert   tls.Certificate
	cas    *x509.CertPool // nil unless TLS is "verify"
}

// readTLS reads the certificates the installer wrote; errNoTLS when it has not yet.
func readTLS(ctx context.Context, gi GuestInfo, mode string, sec *secrets) (*material, error) {
	v, found, err := gi.Get(ctx, vchwire.KeyApplianceTLS)
	if err != nil {
		return nil, err
	}
	if !found || v == "" {
		return nil, errNoTLS
	}
	return parseTLS(ctx, v, mode, sec)
}

var errNoTLS = errors.New("no certificates in guestinfo (" + vchwire.KeyApplianceTLS + ")")

// parseTLS reads the TLS value v, opening its sealed server key.
func parseTLS(ctx context.Context, v, mode string, sec *secrets) (*material, error) {
	m := &material{raw: v}
	if err := json.Unmarshal([]byte(v), &m.wire); err != nil {
		return nil, fmt.Errorf("appliance certificates: %w", err)
	}
	key, err := sec.open(ctx, vchwire.SecretServerKey, m.wire.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("appliance certificates: %w", err)
	}
	m.keyPEM = key
	cert, err := tls.X509KeyPair([]byte(m.wire.ServerCert), key)
	if err != nil {
		return nil, fmt.Errorf("appliance certificates: server certificate and key: %w", err)
	}
	m.cert = cert
	if mode == vchwire.TLSVerify {
		m.cas = x509.NewCertPool()
		if !m.cas.AppendCertsFromPEM([]byte(m.wire.CACert)) {
			return nil, errors.New("appliance certificates: tls is verify and no CA certificate was given")
		}
	}
	return m, nil
}

// covers reports whether the server certificate names ip; the installer issues it for the address the
// appliance reported, so a mismatch is worth a warning.
func (m *material) covers(ip string) bool {
	leaf, err := x509.ParseCertificate(m.cert.Certificate[0])
	if err != nil {
		return false
	}
	return leaf.VerifyHostname(ip) == nil
}

// waitTLS polls for the certificates until they are there and valid. A value that does not parse is
// reported (the installer may still replace it) and waited past.
func (a *appliance) waitTLS(ctx context.Context, mode string) (*material, error) {
	t := time.NewTicker(a.o.TLSPoll)
	defer t.Stop()
	for {
		m, err := readTLS(ctx, a.o.GuestInfo, mode, a.secrets)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, errNoTLS) {
			a.setError(ctx, err.Error())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// writeTLS writes the certificate files vice-engine reads; the key is readable by root only.
func writeTLS(dir string, m *material) error {
	type pemFile struct {
		name, data string
		mode       os.FileMode
	}
	files := []pemFile{{ServerCertFile, m.wire.ServerCert, 0o644}, {ServerKeyFile, string(m.keyPEM), 0o600}}
	if m.cas != nil {
		files = append(files, pemFile{CACertFile, m.wire.CACert, 0o644})
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, []byte(f.data), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(tmp, f.mode); err != nil { // an older file kept its mode
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
	}
	return nil
}

// serverTLS is the admin portal's TLS configuration, whose certificates can be replaced while it serves.
// With CAs a client certificate is verified when given; the portal's authentication (portalauth.go) decides
// what a client without one may do.
type serverTLS struct {
	mu   sync.Mutex
	cert *tls.Certificate
	cas  *x509.CertPool // client certificates must chain to these, when set
}

func (s *serverTLS) set(cert tls.Certificate, cas *x509.CertPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cert, s.cas = &cert, cas
}

// config is the tls.Config a listener uses: each handshake takes the certificates current at the time.
func (s *serverTLS) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.cert == nil {
				return nil, errors.New("no server certificate yet")
			}
			c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*s.cert}}
			if s.cas != nil { // a certificate, when given, must be the CA's; without one the portal asks for a login
				c.ClientAuth, c.ClientCAs = tls.VerifyClientCertIfGiven, s.cas
			}
			return c, nil
		},
	}
}

// selfSigned is a certificate for ip made at boot, for the admin portal of an appliance whose Docker API
// is plain HTTP (TLS "off"): the installer issues no certificates then.
func selfSigned(ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: ip, Organization: []string{"vice appliance (self-signed)"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if addr := net.ParseIP(ip); addr != nil {
		tmpl.IPAddresses = []net.IP{addr}
	} else {
		tmpl.DNSNames = []string{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
