package machine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vchwire"
)

func TestCreateTLSModes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       TLSOptions
		mode       string
		env, cmd   string
		clientCert bool
	}{
		{"no-tlsverify", TLSOptions{NoTLSVerify: true}, vchwire.TLSServer, "DOCKER_TLS=1", ":2376 --tls info", false},
		{"no-tls", TLSOptions{NoTLS: true}, vchwire.TLSOff, "DOCKER_HOST=", ":2375 info", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t)
			var certDir string
			_, a, _ := s.createVCH(t, "vch1", "v1.0.0", func(o *CreateOptions) {
				tc.opts.CertPath = o.CertPath
				o.TLSOptions = tc.opts
				certDir = o.CertPath
			})
			v := s.vch(t, "vch1")
			if v.Config.TLS != tc.mode {
				t.Errorf("TLS mode %q, want %q", v.Config.TLS, tc.mode)
			}
			m, out := testMachine(t)
			if _, err := m.Inspect(context.Background(), ListOptions{CommonOptions: CommonOptions{Target: s.target(), Thumbprint: s.thumbprint, Name: "vch1"}, CertPath: certDir}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.env) || !strings.Contains(out.String(), "docker -H "+a.IP+tc.cmd) {
				t.Errorf("inspect output for %s:\n%s", tc.name, out.String())
			}
			_, err := os.Stat(filepath.Join(certDir, certs.ClientCertFile))
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
