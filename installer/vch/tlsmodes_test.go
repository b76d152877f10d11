package vch

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/installer/vchwire"
)

func TestCreateTLSModes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       TLSOptions
		mode       string
		port       string
		clientCert bool
	}{
		{"no-tlsverify", TLSOptions{NoTLSVerify: true}, vchwire.TLSServer, ":2376", false},
		{"no-tls", TLSOptions{NoTLS: true}, vchwire.TLSOff, ":2375", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := vchtest.StartVC(t)
			var certDir string
			_, a, _ := createVCH(t, s, "vch1", "v1.0.0", func(o *CreateOptions) {
				tc.opts.CertPath = o.CertPath
				o.TLSOptions = tc.opts
				certDir = o.CertPath
			})
			v := readVCH(t, s, "vch1")
			if v.Config.TLS != tc.mode {
				t.Errorf("TLS mode %q, want %q", v.Config.TLS, tc.mode)
			}
			m, _ := testManager(t)
			in, err := m.Inspect(context.Background(), InspectOptions{CommonOptions: CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1"}, CertPath: certDir})
			if err != nil {
				t.Fatal(err)
			}
			if in.Access.TLS != tc.mode || in.Access.DockerAddr() != a.IP+tc.port {
				t.Errorf("inspect for %s: %+v at %q", tc.name, in.Access, in.Access.DockerAddr())
			}
			_, err = os.Stat(filepath.Join(certDir, certs.ClientCertFile))
			if has := err == nil; has != tc.clientCert {
				t.Errorf("client certificate present: %v", has)
			}
			if tc.mode == vchwire.TLSOff {
				if v.TLS != nil {
					t.Errorf("TLS value written with --no-tls: %+v", v.TLS)
				}
				if _, err := os.Stat(certDir); !os.IsNotExist(err) {
					t.Errorf("certificate folder made with --no-tls: %v", err)
				}
			} else if v.TLS == nil || v.TLS.CACert != "" || v.TLS.ServerCert == "" {
				t.Errorf("TLS value with --no-tlsverify: %+v", v.TLS)
			}
			if v.Status == nil || v.Status.State != vchwire.ApplianceRunning {
				t.Errorf("status %+v", v.Status)
			}
		})
	}
}
