package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The files of a certificate folder. ca.pem, cert.pem and key.pem are the names the docker CLI reads from
// DOCKER_CERT_PATH.
const (
	CAFile         = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ClientCertFile = "cert.pem"
	ClientKeyFile  = "key.pem"
	ServerCertFile = "server-cert.pem"
	ServerKeyFile  = "server-key.pem"
)

// Folder is a directory of certificate files.
type Folder struct{ Dir string }

// Path is the path of the file name in the folder.
func (f Folder) Path(name string) string { return filepath.Join(f.Dir, name) }

// Has reports whether every one of the files exists.
func (f Folder) Has(names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(f.Path(n)); err != nil {
			return false
		}
	}
	return true
}

// LoadPair reads a certificate and its key; the error wraps fs.ErrNotExist when either file is missing.
func (f Folder) LoadPair(certFile, keyFile string) (*KeyPair, error) {
	certPEM, err := os.ReadFile(f.Path(certFile))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(f.Path(keyFile))
	if err != nil {
		return nil, err
	}
	kp, err := ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", f.Path(certFile), f.Path(keyFile), err)
	}
	return kp, nil
}

// LoadCACert reads ca.pem alone (enough to verify, not to sign).
func (f Folder) LoadCACert() (*x509.Certificate, error) {
	data, err := os.ReadFile(f.Path(CAFile))
	if err != nil {
		return nil, err
	}
	c, err := ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path(CAFile), err)
	}
	return c, nil
}

// EnsureCA loads the folder's CA, or makes one (and the folder) when it has none. created says which.
func (f Folder) EnsureCA(name string) (kp *KeyPair, created bool, err error) {
	kp, err = f.LoadPair(CAFile, CAKeyFile)
	if err == nil {
		if !kp.Cert.IsCA {
			return nil, false, fmt.Errorf("%s is not a certificate authority; remove it or use another --tls-cert-path", f.Path(CAFile))
		}
		return kp, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if f.Has(CAFile) && !f.Has(CAKeyFile) {
		return nil, false, fmt.Errorf("%s has %s but not %s, so no certificate can be signed; add the CA key or remove %s",
			f.Dir, CAFile, CAKeyFile, CAFile)
	}
	if kp, err = NewCA(name); err != nil {
		return nil, false, err
	}
	if err := f.writePair(CAFile, CAKeyFile, kp); err != nil {
		return nil, false, err
	}
	return kp, true, nil
}

// EnsureClient loads the folder's client certificate when it chains to ca, or signs and writes a new one.
func (f Folder) EnsureClient(ca *KeyPair, cn string) (kp *KeyPair, created bool, err error) {
	kp, err = f.LoadPair(ClientCertFile, ClientKeyFile)
	if err == nil {
		if verr := Verify(ca.Cert, kp.Cert, x509.ExtKeyUsageClientAuth, ""); verr != nil {
			return nil, false, fmt.Errorf("%s was not signed by %s: %w; remove %s and %s to have new ones made",
				f.Path(ClientCertFile), f.Path(CAFile), verr, ClientCertFile, ClientKeyFile)
		}
		return kp, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if kp, err = ca.IssueClient(cn); err != nil {
		return nil, false, err
	}
	if err := f.writePair(ClientCertFile, ClientKeyFile, kp); err != nil {
		return nil, false, err
	}
	return kp, true, nil
}

// EnsureServer loads the folder's server certificate when it chains to ca and names every one of names;
// otherwise it signs a new one and writes it over the old.
func (f Folder) EnsureServer(ca *KeyPair, names ServerNames) (kp *KeyPair, created bool, err error) {
	kp, err = f.LoadPair(ServerCertFile, ServerKeyFile)
	if err == nil && Verify(ca.Cert, kp.Cert, x509.ExtKeyUsageServerAuth, "") == nil && Covers(kp.Cert, names.all()...) {
		return kp, false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if kp, err = ca.IssueServer(names); err != nil {
		return nil, false, err
	}
	if err := f.writePair(ServerCertFile, ServerKeyFile, kp); err != nil {
		return nil, false, err
	}
	return kp, true, nil
}

func (n ServerNames) all() []string {
	var out []string
	for _, ip := range n.IPs {
		out = append(out, ip.String())
	}
	return append(out, n.DNSNames...)
}

// writePair writes the certificate (0644) and the key (0600), each through a temporary file renamed into
// place, creating the folder (0700) when missing.
func (f Folder) writePair(certFile, keyFile string, kp *KeyPair) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	if err := writeFile(f.Path(keyFile), kp.KeyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(f.Path(certFile), kp.CertPEM, 0o644)
}

func writeFile(name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
