package simulatortests

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
)

// installerPassword is the simulator's password in TestInstaller: odd enough to be found wherever it leaks.
const installerPassword = "e2e-Pa55/w0rd:of-the-vcenter"

// secretLeaks reads the VCHs as a vSphere user with read access does and reports every secret it finds in
// clear: every extraConfig value of every VM through govmomi (what `govc vm.info -e` prints), and every
// file of the datastore. Secrets are the vCenter's password, any PEM private key, an endpoint key, and the
// keys of keyFiles (files of a certificate folder: a key's base64 body is looked for too). The endpoint key in its
// .vmx is there by design: ESXi keeps guestinfo.ovfEnv there, readable to whoever may read the datastore
// (the README's threat model).
func (e *installerEnv) secretLeaks(t *testing.T, keyFiles ...string) []string {
	t.Helper()
	look := []string{installerPassword}
	for _, f := range keyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) > 2 {
			look = append(look, lines[1])
		}
	}
	var found []string
	check := func(where, v string, image bool) {
		for _, n := range look {
			if strings.Contains(v, n) {
				found = append(found, fmt.Sprintf("%s shows %.24q", where, n))
			}
		}
		if image { // the product's images, searched for this install's secrets only (vchtest.Leaks says why)
			return
		}
		if m := vchtest.PEMPrivateKey.FindString(v); m != "" {
			found = append(found, fmt.Sprintf("%s holds a private key: %.40q", where, m))
		}
		if vchtest.EndpointKey.MatchString(v) {
			found = append(found, where+" holds an endpoint key")
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := govmomi.NewClient(ctx, e.vcsimURL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(context.Background())
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(context.Background())
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.extraConfig"}, &vms); err != nil {
		t.Fatal(err)
	}
	values := 0
	for _, vm := range vms {
		if vm.Config == nil {
			continue
		}
		for _, o := range vm.Config.ExtraConfig {
			ov := o.GetOptionValue()
			s, _ := ov.Value.(string)
			values++
			if strings.EqualFold(ov.Key, vchwire.KeySecretKey) {
				found = append(found, fmt.Sprintf("VM %s: extraConfig shows %s", vm.Name, ov.Key))
			}
			check(fmt.Sprintf("VM %s: extraConfig %s", vm.Name, ov.Key), s, false)
		}
	}
	files := 0
	// The VCH runs on while the walk reads: a file or folder it removes meanwhile (a temporary file renamed
	// into place, a container's folder) is no longer there to show anything.
	err = filepath.WalkDir(e.dsDir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		files++
		text := string(data)
		if filepath.Ext(p) == ".vmx" {
			if key, ok, _ := vmxfile.Lookup(data, vchwire.KeySecretKey); ok {
				text = strings.ReplaceAll(text, key, "")
			}
		}
		rel, _ := filepath.Rel(e.dsDir, p)
		check("datastore file "+rel, text, filepath.Ext(rel) == ".iso")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d extraConfig values of %d VMs and %d datastore files", values, len(vms), files)
	return found
}

// checkNoSecrets fails the test for every secret the VCH d shows in clear, its certificate folder's keys
// among them.
func (e *installerEnv) checkNoSecrets(t *testing.T, d *deployed) {
	t.Helper()
	keys := []string{filepath.Join(d.certs, "server-key.pem"), filepath.Join(d.certs, "ca-key.pem"), filepath.Join(d.certs, "key.pem")}
	for _, leak := range e.secretLeaks(t, keys...) {
		t.Error(leak)
	}
}

// checkPortal: the VCH's admin portal serves a client certificate of the VCH, or a vSphere user's
// credentials (checked by logging in to the simulated vCenter), and nobody else.
func (e *installerEnv) checkPortal(t *testing.T, d *deployed) {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(d.certs, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(d.certs, "cert.pem"), filepath.Join(d.certs, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(d.host, "tcp://"))
	status := "https://" + net.JoinHostPort(host, "2378") + "/api/status"
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: x509Pool(t, ca), Certificates: certs}}}
	}
	for _, c := range []struct {
		what           string
		client         *http.Client
		user, password string
		want           int
	}{
		{"no certificate, no login", client(), "", "", http.StatusUnauthorized},
		{"a wrong password", client(), e.vcsimURL.User.Username(), "wrong", http.StatusUnauthorized},
		{"the vSphere user", client(), e.vcsimURL.User.Username(), installerPassword, http.StatusOK},
		{"the client certificate", client(cert), "", "", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, status, nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.password)
		}
		resp, err := c.client.Do(req)
		if err != nil {
			t.Errorf("portal, %s: %v", c.what, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("portal, %s: %s", c.what, resp.Status)
		if resp.StatusCode != c.want {
			t.Errorf("portal, %s: %s %s, want %d", c.what, resp.Status, body, c.want)
		}
		if c.want == http.StatusOK && !strings.Contains(string(body), `"state": "running"`) {
			t.Errorf("portal, %s: %s", c.what, body)
		}
	}
}
