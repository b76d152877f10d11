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
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/installer/vchwire"
)

// fakeGuestInfo is guestinfo in a map, recording every write of the status. It holds an endpoint key, as
// the hypervisor hands it to the guest, and seals test secrets to it.
type fakeGuestInfo struct {
	key      *vchwire.SecretKey
	mu       sync.Mutex
	kv       map[string]string
	statuses []vchwire.ApplianceStatus
	failSets int // the next failSets writes fail
	gets     map[string]int
}

func newFakeGuestInfo() *fakeGuestInfo {
	k, err := vchwire.NewSecretKey()
	if err != nil {
		panic(err)
	}
	return &fakeGuestInfo{key: k, kv: map[string]string{vchwire.KeySecretKey: k.String()}, gets: map[string]int{}}
}

// seal seals a secret to the guest's key, as vice-machine does.
func (f *fakeGuestInfo) seal(t *testing.T, purpose, v string) vchwire.Sealed {
	t.Helper()
	s, err := f.key.PublicKey().Seal(purpose, []byte(v))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakeGuestInfo) Get(ctx context.Context, key string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets[key]++
	v, ok := f.kv[key]
	return v, ok, nil
}

func (f *fakeGuestInfo) Set(_ context.Context, key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSets > 0 {
		f.failSets--
		return errors.New("guestinfo is down")
	}
	if value == "" {
		delete(f.kv, key)
	} else {
		f.kv[key] = value
	}
	if key == vchwire.KeyApplianceStatus {
		var st vchwire.ApplianceStatus
		if err := json.Unmarshal([]byte(value), &st); err == nil {
			f.statuses = append(f.statuses, st)
		}
	}
	return nil
}

func (f *fakeGuestInfo) put(t *testing.T, key string, v any) {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		s = string(b)
	}
	f.mu.Lock()
	f.kv[key] = s
	f.mu.Unlock()
}

// status is the last status written.
func (f *fakeGuestInfo) status() vchwire.ApplianceStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.statuses) == 0 {
		return vchwire.ApplianceStatus{}
	}
	return f.statuses[len(f.statuses)-1]
}

func (f *fakeGuestInfo) writes() []vchwire.ApplianceStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]vchwire.ApplianceStatus(nil), f.statuses...)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testPKI is a CA with a server certificate for an address (127.0.0.1 by default) and a client
// certificate, PEM-encoded.
type testPKI struct {
	ca                    *x509.Certificate
	caKey                 *ecdsa.PrivateKey
	caPEM                 string
	serverCert, serverKey string
	clientCert, clientKey string
	client                tls.Certificate
	pool                  *x509.CertPool
}

func newPKI(t *testing.T, ip ...string) *testPKI {
	t.Helper()
	serverIP := "127.0.0.1"
	if len(ip) > 0 {
		serverIP = ip[0]
	}
	p := &testPKI{}
	var err error
	p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.ca)
	p.serverCert, p.serverKey = p.issue(t, 2, "server", x509.ExtKeyUsageServerAuth, serverIP)
	p.clientCert, p.clientKey = p.issue(t, 3, "client", x509.ExtKeyUsageClientAuth, "")
	p.client, err = tls.X509KeyPair([]byte(p.clientCert), []byte(p.clientKey))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *testPKI) issue(t *testing.T, serial int64, cn string, usage x509.ExtKeyUsage, ip string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	if ip != "" {
		tmpl.IPAddresses = []net.IP{net.ParseIP(ip)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

// wire is the TLS value vice-machine writes for the guest of gi: the server key sealed to its key.
func (p *testPKI) wire(t *testing.T, gi *fakeGuestInfo, verify bool) vchwire.ApplianceTLS {
	w := vchwire.ApplianceTLS{ServerCert: p.serverCert, ServerKey: gi.seal(t, vchwire.SecretServerKey, p.serverKey)}
	if verify {
		w.CACert = p.caPEM
	}
	return w
}

// testRoot is an appliance root: VERSION, bin/vice-engine (this test binary, which acts as a fake engine
// when run under that name) and two plugin files.
func testRoot(t *testing.T) (string, []vchwire.PluginRecord) {
	t.Helper()
	root := t.TempDir()
	for name, content := range map[string]string{
		"VERSION": "v9.9.9\n", "plugins/vice-plugin-vcsim": "vcsim plugin", "plugins/vice-plugin-vsphere": "vsphere plugin",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(root, EnginePath)); err != nil {
		t.Fatal(err)
	}
	var recs []vchwire.PluginRecord
	for _, name := range []string{"vcsim", "vsphere"} {
		file := "/plugins/vice-plugin-" + name
		sum, err := pluginhost.FileSHA256(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, vchwire.PluginRecord{Name: name, File: file, SHA256: sum})
	}
	return root, recs
}
