package dockerapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/dockerapi"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client certificate, as files.
type testPKI struct {
	dir                       string
	caPool                    *x509.CertPool
	client                    tls.Certificate
	caFile, certFile, keyFile string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	caKey, caCert, caDER := issue(t, "ca", nil, nil, true)
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(caCert)
	p.caFile = writePEM(t, p.dir, "ca.pem", "CERTIFICATE", caDER)
	srvKey, _, srvDER := issue(t, "server", caCert, caKey, false)
	p.certFile = writePEM(t, p.dir, "server-cert.pem", "CERTIFICATE", srvDER)
	p.keyFile = writeKey(t, p.dir, "server-key.pem", srvKey)
	cliKey, _, cliDER := issue(t, "client", caCert, caKey, false)
	p.client = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	return p
}

func issue(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        ca, BasicConstraintsValid: true,
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert, der
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeKey(t *testing.T, dir, name string, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "EC PRIVATE KEY", der)
}

// serveTLS serves the stack's API with opts on a loopback port until the test ends.
func serveTLS(t *testing.T, s *stack, opts dockerapi.TLSOptions) string {
	t.Helper()
	cfg, err := opts.Config()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := dockerapi.Listen([]string{"tcp://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := ls[0].Addr().String()
	srv := dockerapi.NewServer(s.api, quietLogger())
	srv.TLS = cfg
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListeners(ctx, ls) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return addr
}

func ping(addr string, tc *tls.Config) (string, error) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + addr + "/_ping")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

func TestTLSVerifyRequiresClientCertificate(t *testing.T) {
	p := newTestPKI(t)
	addr := serveTLS(t, newStack(t), dockerapi.TLSOptions{Verify: true, CACert: p.caFile, Cert: p.certFile, Key: p.keyFile})

	if body, err := ping(addr, &tls.Config{RootCAs: p.caPool, Certificates: []tls.Certificate{p.client}}); err != nil || body != "OK" {
		t.Fatalf("ping with the client certificate: %q %v", body, err)
	}
	// Without a certificate the handshake fails: no request is ever served.
	if body, err := ping(addr, &tls.Config{RootCAs: p.caPool}); err == nil {
		t.Fatalf("ping without a client certificate answered %q", body)
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("refusal %v does not mention the certificate", err)
	}
	// A certificate from another CA is refused too.
	other := newTestPKI(t)
	if body, err := ping(addr, &tls.Config{RootCAs: p.caPool, Certificates: []tls.Certificate{other.client}}); err == nil {
		t.Fatalf("ping with a stranger's certificate answered %q", body)
	}
	// Plain HTTP on the TLS port gets no API.
	if resp, err := http.Get("http://" + addr + "/_ping"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) == "OK" {
			t.Fatal("plain HTTP was served on the TLS port")
		}
	}
}

func TestTLSServerOnly(t *testing.T) {
	p := newTestPKI(t)
	addr := serveTLS(t, newStack(t), dockerapi.TLSOptions{Insecure: true, Cert: p.certFile, Key: p.keyFile})
	if body, err := ping(addr, &tls.Config{RootCAs: p.caPool}); err != nil || body != "OK" {
		t.Fatalf("ping without a client certificate under --tls: %q %v", body, err)
	}
}

func TestTLSOptionErrors(t *testing.T) {
	p := newTestPKI(t)
	for name, o := range map[string]dockerapi.TLSOptions{
		"no cert":       {Verify: true, CACert: p.caFile},
		"no CA":         {Verify: true, Cert: p.certFile, Key: p.keyFile},
		"key mismatch":  {Insecure: true, Cert: p.certFile, Key: p.caFile},
		"missing files": {Insecure: true, Cert: filepath.Join(p.dir, "nope.pem"), Key: p.keyFile},
	} {
		if _, err := o.Config(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
