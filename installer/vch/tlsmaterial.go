package vch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vchwire"
)

func tlsMode(o TLSOptions) string {
	switch {
	case o.NoTLS:
		return vchwire.TLSOff
	case o.NoTLSVerify:
		return vchwire.TLSServer
	}
	return vchwire.TLSVerify
}

// errNoClientCert: the certificate folder lacks the docker client certificate.
var errNoClientCert = errors.New("no client certificate")

// certFolder is --tls-cert-path, or a folder named after the VCH in the current directory (VIC's default).
func certFolder(certPath, name string) (certs.Folder, error) {
	dir := certPath
	if dir == "" {
		dir = name
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return certs.Folder{}, err
	}
	return certs.Folder{Dir: abs}, nil
}

// tlsMaterial is what vice-machine holds of a VCH's certificates.
type tlsMaterial struct {
	mode string
	// pub is the endpoint's public key, which the server key is sealed to; nil for a VCH made before vice
	// sealed its secrets (its server key cannot be replaced).
	pub    *vchwire.PublicKey
	folder certs.Folder
	ca     *certs.KeyPair    // nil without ca-key.pem: nothing can be signed
	caCert *x509.Certificate // verifies the server
	client *certs.KeyPair    // the docker CLI's, for vchwire.TLSVerify
	cnames []string
}

// prepareTLS loads the certificate folder, making a CA and (for vchwire.TLSVerify) a client certificate when it has
// none. The server certificate waits for the appliance's address.
func prepareTLS(name, mode string, o TLSOptions, log Progress) (*tlsMaterial, error) {
	t := &tlsMaterial{mode: mode, cnames: o.CNames}
	if mode == vchwire.TLSOff {
		log.Warnf("Configuring without TLS - the Docker API will be open to anyone who can reach port %d", vchwire.PortDockerPlain)
		return t, nil
	}
	f, err := certFolder(o.CertPath, name)
	if err != nil {
		return nil, err
	}
	t.folder = f
	ca, created, err := f.EnsureCA(name)
	if err != nil {
		return nil, fmt.Errorf("certificate authority in %s: %w", f.Dir, err)
	}
	if created {
		log.Infof("Generating CA certificate/key pair - private key in %s", f.Path(certs.CAKeyFile))
	} else {
		log.Infof("Loaded CA from %s", f.Path(certs.CAFile))
	}
	t.ca, t.caCert = ca, ca.Cert
	if mode == vchwire.TLSVerify {
		client, created, err := f.EnsureClient(ca, name+" client")
		if err != nil {
			return nil, fmt.Errorf("client certificate in %s: %w", f.Dir, err)
		}
		if created {
			log.Infof("Generating client certificate/key pair - private key in %s", f.Path(certs.ClientKeyFile))
		} else {
			log.Infof("Loaded client certificate from %s", f.Path(certs.ClientCertFile))
		}
		t.client = client
	} else {
		log.Warnf("Configuring without TLS verify - certificate-based authentication disabled")
	}
	return t, nil
}

// loadTLS is the material of an existing VCH for a restart: whatever the certificate folder has, plus the
// CA certificate the VCH itself carries.
func loadTLS(v *VCH, certPath string, cnames []string) (*tlsMaterial, error) {
	t := &tlsMaterial{mode: v.Config.TLS, pub: v.PublicKey, cnames: cnames}
	if t.mode == "" {
		t.mode = vchwire.TLSVerify
	}
	if t.mode == vchwire.TLSOff {
		return t, nil
	}
	if len(t.cnames) == 0 && v.TLS != nil {
		t.cnames = certCNames(v.TLS.ServerCert)
	}
	f, err := certFolder(certPath, v.Name)
	if err != nil {
		return nil, err
	}
	t.folder = f
	if ca, err := f.LoadPair(certs.CAFile, certs.CAKeyFile); err == nil {
		t.ca, t.caCert = ca, ca.Cert
	} else if c, err := f.LoadCACert(); err == nil {
		t.caCert = c
	} else if v.TLS != nil && v.TLS.CACert != "" {
		t.caCert, _ = certs.ParseCertificate([]byte(v.TLS.CACert))
	}
	if t.mode == vchwire.TLSVerify {
		if client, err := f.LoadPair(certs.ClientCertFile, certs.ClientKeyFile); err == nil {
			t.client = client
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return t, nil
}

// certCNames are the DNS names of a server certificate other than localhost: the --tls-cname it was made with.
func certCNames(certPEM string) []string {
	c, err := certs.ParseCertificate([]byte(certPEM))
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range c.DNSNames {
		if n != "localhost" {
			out = append(out, n)
		}
	}
	for _, ip := range c.IPAddresses {
		if !ip.IsLoopback() && c.Subject.CommonName != ip.String() {
			out = append(out, ip.String())
		}
	}
	return out
}

// serverNames are the names the server certificate carries for an appliance at ip.
func (t *tlsMaterial) serverNames(ip string) certs.ServerNames {
	var n certs.ServerNames
	n.Add(ip)
	for _, c := range t.cnames {
		n.Add(c)
	}
	n.Add("localhost")
	return n
}

// issue signs (or reuses) the server certificate for ip and returns the appliance's TLS key value.
func (t *tlsMaterial) issue(ip string, log Progress) (*vchwire.ApplianceTLS, error) {
	if t.ca == nil {
		return nil, fmt.Errorf("cannot sign a server certificate for %s: %s has no %s; point --tls-cert-path at the folder "+
			"with the VCH's %s and %s", ip, t.folder.Dir, certs.CAKeyFile, certs.CAFile, certs.CAKeyFile)
	}
	srv, created, err := t.folder.EnsureServer(t.ca, t.serverNames(ip))
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	if created {
		log.Infof("Generating server certificate/key pair for %s - private key in %s", ip, t.folder.Path(certs.ServerKeyFile))
	} else {
		log.Infof("Loaded server certificate from %s", t.folder.Path(certs.ServerCertFile))
	}
	out, err := t.value(srv)
	if err != nil {
		return nil, err
	}
	if t.mode == vchwire.TLSVerify {
		out.CACert = string(t.ca.CertPEM)
	}
	return out, nil
}

// value is the TLS value of a server pair: the certificate, and the key sealed to the endpoint's key.
func (t *tlsMaterial) value(srv *certs.KeyPair) (*vchwire.ApplianceTLS, error) {
	if t.pub == nil {
		return nil, fmt.Errorf("the endpoint VM has no public key (%s) to seal the server key to: it was created by a "+
			"vice-machine that wrote its secrets in clear; create the VCH again", vchwire.KeyPublicKey)
	}
	key, err := t.pub.Seal(vchwire.SecretServerKey, srv.KeyPEM)
	if err != nil {
		return nil, err
	}
	return &vchwire.ApplianceTLS{ServerCert: string(srv.CertPEM), ServerKey: key}, nil
}

// reusable reports whether the VCH's current TLS value serves an appliance at ip.
func reusable(cur *vchwire.ApplianceTLS, ip string) bool {
	if cur == nil || cur.ServerCert == "" || cur.ServerKey == "" {
		return false
	}
	c, err := certs.ParseCertificate([]byte(cur.ServerCert))
	if err != nil {
		return false
	}
	return certs.Covers(c, ip)
}

// clientConfig is the TLS configuration that talks to the appliance's Docker API at host.
func (t *tlsMaterial) clientConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host}
	if t.caCert != nil {
		pool := x509.NewCertPool()
		pool.AddCert(t.caCert)
		cfg.RootCAs = pool
	} else {
		cfg.InsecureSkipVerify = true
	}
	if t.mode == vchwire.TLSVerify {
		if t.client == nil {
			return nil, errNoClientCert
		}
		c, err := t.client.TLS()
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// dockerAddr is the host:port of the Docker API of an appliance that reported st.
func dockerAddr(st *vchwire.ApplianceStatus, mode string) string {
	if st.DockerHost != "" {
		if h := hostPort(st.DockerHost); h != "" {
			return h
		}
	}
	port := vchwire.PortDockerTLS
	if mode == vchwire.TLSOff {
		port = vchwire.PortDockerPlain
	}
	return net.JoinHostPort(st.IP, fmt.Sprint(port))
}

// hostPort strips the scheme of "tcp://ip:2376".
func hostPort(dockerHost string) string {
	for _, p := range []string{"tcp://", "https://", "http://"} {
		if len(dockerHost) > len(p) && dockerHost[:len(p)] == p {
			return dockerHost[len(p):]
		}
	}
	if _, _, err := net.SplitHostPort(dockerHost); err == nil {
		return dockerHost
	}
	return ""
}

// install is the TLS value for an appliance at ip from the certificate folder: a server certificate signed
// with the folder's CA key, or, without one, the folder's own server-cert.pem and server-key.pem.
func (t *tlsMaterial) install(ip string, log Progress) (*vchwire.ApplianceTLS, error) {
	if t.ca != nil {
		return t.issue(ip, log)
	}
	srv, err := t.folder.LoadPair(certs.ServerCertFile, certs.ServerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%s has neither %s (to sign a server certificate) nor a usable %s and %s: %w",
			t.folder.Dir, certs.CAKeyFile, certs.ServerCertFile, certs.ServerKeyFile, err)
	}
	if !certs.Covers(srv.Cert, ip) {
		log.Warnf("%s does not name the appliance's address %s: clients will have to connect by one of its names",
			t.folder.Path(certs.ServerCertFile), ip)
	}
	log.Infof("Loaded server certificate from %s", t.folder.Path(certs.ServerCertFile))
	out, err := t.value(srv)
	if err != nil {
		return nil, err
	}
	if t.mode == vchwire.TLSVerify {
		if t.caCert == nil {
			return nil, fmt.Errorf("%s has no %s to verify client certificates with", t.folder.Dir, certs.CAFile)
		}
		data, err := os.ReadFile(t.folder.Path(certs.CAFile))
		if err != nil {
			return nil, err
		}
		out.CACert = string(data)
	}
	return out, nil
}

// access is how clients reach the VCH name whose appliance reported st, with this material.
func (t *tlsMaterial) access(name string, st *vchwire.ApplianceStatus) Access {
	return Access{Name: name, Status: st, TLS: t.mode, CertDir: t.folder.Dir}
}
