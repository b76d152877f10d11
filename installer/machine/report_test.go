package machine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vch"
	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/installer/vchwire"
)

// The report of how to reach a VCH, in each TLS mode, as create, upgrade, configure and inspect print it.
func TestReportEndpoint(t *testing.T) {
	st := &vchwire.ApplianceStatus{State: vchwire.ApplianceRunning, IP: "10.1.2.3"}
	dir := t.TempDir()
	for _, tc := range []struct {
		mode, certDir string
		want, not     []string
	}{
		{vchwire.TLSVerify, dir, []string{"https://10.1.2.3:2378", "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=" + dir + " DOCKER_HOST=10.1.2.3:2376",
			"Environment saved in " + filepath.Join(dir, "vch1.env"), `docker -H 10.1.2.3:2376 --tlsverify --tlscacert="` + filepath.Join(dir, certs.CAFile),
			"WARN  " + dir + " has no client certificate"}, nil},
		{vchwire.TLSServer, dir, []string{"DOCKER_TLS=1 DOCKER_CERT_PATH=" + dir + " DOCKER_HOST=10.1.2.3:2376",
			`docker -H 10.1.2.3:2376 --tls --tlscacert="` + filepath.Join(dir, certs.CAFile) + `" info`}, []string{"no client certificate"}},
		{vchwire.TLSOff, "", []string{"INFO  DOCKER_HOST=10.1.2.3:2375\n", "docker -H 10.1.2.3:2375 info"}, []string{"Environment saved"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			out := &vchtest.Buffer{}
			m := New(out, false, BuildInfo{})
			m.reportEndpoint(vch.Access{Name: "vch1", Status: st, TLS: tc.mode, CertDir: tc.certDir}, true)
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out.String(), w) {
					t.Errorf("report has %q:\n%s", w, out)
				}
			}
		})
	}
	env, err := os.ReadFile(filepath.Join(dir, "vch1.env"))
	if err != nil || string(env) != "DOCKER_TLS=1\nDOCKER_CERT_PATH="+dir+"\nDOCKER_HOST=10.1.2.3:2376\n" {
		t.Errorf("environment file (of the last mode with a folder): %q %v", env, err)
	}

	out := &vchtest.Buffer{}
	New(out, false, BuildInfo{}).reportEndpoint(vch.Access{Name: "vch1", Status: &vchwire.ApplianceStatus{State: vchwire.ApplianceBooting}}, false)
	if !strings.Contains(out.String(), `WARN  The appliance has not reported its address yet (state "booting")`) {
		t.Errorf("report without an address:\n%s", out)
	}
}
