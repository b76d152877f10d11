package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestClientVerifiesAgainstCA(t *testing.T) {
	f := Folder{Dir: t.TempDir() + "/vch1"}
	ca, created, err := f.EnsureCA("vch1")
	if err != nil || !created {
		t.Fatalf("EnsureCA: %v created=%v", err, created)
	}
	client, created, err := f.EnsureClient(ca, "vch1 client")
	if err != nil || !created {
		t.Fatalf("EnsureClient: %v created=%v", err, created)
	}
	if err := Verify(ca.Cert, client.Cert, x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Fatalf("client does not verify against the CA: %v", err)
	}
	if err := Verify(ca.Cert, client.Cert, x509.ExtKeyUsageServerAuth, ""); err == nil {
		t.Fatal("a client certificate verified for server use")
	}
	other, _ := NewCA("other")
	if err := Verify(other.Cert, client.Cert, x509.ExtKeyUsageClientAuth, ""); err == nil {
		t.Fatal("client verified against an unrelated CA")
	}
	for _, name := range []string{CAFile, CAKeyFile, ClientCertFile, ClientKeyFile} {
		st, err := os.Stat(f.Path(name))
		if err != nil {
			t.Fatal(err)
		}
		if name == CAKeyFile || name == ClientKeyFile {
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", name, st.Mode().Perm())
			}
		}
	}

	// A second run reuses what is there.
	ca2, created, err := f.EnsureCA("vch1")
	if err != nil || created || !ca2.Cert.Equal(ca.Cert) {
		t.Fatalf("EnsureCA again: %v created=%v same=%v", err, created, ca2.Cert.Equal(ca.Cert))
	}
	client2, created, err := f.EnsureClient(ca2, "vch1 client")
	if err != nil || created || !client2.Cert.Equal(client.Cert) {
		t.Fatalf("EnsureClient again: %v created=%v", err, created)
	}
}

func TestServerCertNamesTheAddress(t *testing.T) {
	f := Folder{Dir: t.TempDir()}
	ca, _, err := f.EnsureCA("vch1")
	if err != nil {
		t.Fatal(err)
	}
	var names ServerNames
	names.Add("127.0.0.7")
	names.Add("vch1.example.com")
	names.Add("localhost")
	names.Add("127.0.0.7") // once
	srv, created, err := f.EnsureServer(ca, names)
	if err != nil || !created {
		t.Fatalf("EnsureServer: %v created=%v", err, created)
	}
	if len(srv.Cert.IPAddresses) != 1 || !srv.Cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.7")) {
		t.Fatalf("IP SANs %v, want [127.0.0.7]", srv.Cert.IPAddresses)
	}
	for _, host := range []string{"127.0.0.7", "vch1.example.com", "localhost"} {
		if err := Verify(ca.Cert, srv.Cert, x509.ExtKeyUsageServerAuth, host); err != nil {
			t.Errorf("server cert for %s: %v", host, err)
		}
	}
	if Covers(srv.Cert, "127.0.0.8") {
		t.Error("server cert covers an address it does not name")
	}
	// Reused while it names the address; replaced when the address changes.
	if again, created, err := f.EnsureServer(ca, names); err != nil || created || !again.Cert.Equal(srv.Cert) {
		t.Fatalf("EnsureServer same names: %v created=%v", err, created)
	}
	var moved ServerNames
	moved.Add("127.0.0.9")
	if again, created, err := f.EnsureServer(ca, moved); err != nil || !created || !Covers(again.Cert, "127.0.0.9") {
		t.Fatalf("EnsureServer new address: %v created=%v", err, created)
	}
}

// The pieces work together as the docker CLI and the endpoint use them: mutual TLS over the loopback.
func TestMutualTLS(t *testing.T) {
	f := Folder{Dir: t.TempDir()}
	ca, _, _ := f.EnsureCA("vch1")
	client, _, _ := f.EnsureClient(ca, "client")
	var names ServerNames
	names.Add("127.0.0.1")
	srv, _, _ := f.EnsureServer(ca, names)

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	serverCert, err := srv.TLS()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "OK")
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	ts.StartTLS()
	defer ts.Close()

	clientCert, _ := client.TLS()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}}}
	resp, err := c.Get(ts.URL + "/_ping")
	if err != nil {
		t.Fatalf("mutual TLS: %v", err)
	}
	resp.Body.Close()
	c.CloseIdleConnections()

	bare := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, err := bare.Get(ts.URL + "/_ping"); err == nil {
		resp.Body.Close()
		t.Fatal("a client without a certificate was let in")
	}
	bare.CloseIdleConnections()
}

func TestCAWithoutKey(t *testing.T) {
	f := Folder{Dir: t.TempDir()}
	ca, _ := NewCA("x")
	if err := os.WriteFile(f.Path(CAFile), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.EnsureCA("x"); err == nil {
		t.Fatal("EnsureCA made a CA beside a lone ca.pem")
	}
}
