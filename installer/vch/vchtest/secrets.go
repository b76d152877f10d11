package vchtest

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
)

// PEMPrivateKey matches a PEM private key with the start of its body, in a file or in JSON (where the line
// break is "\n"); a binary that merely names the header is no match.
var PEMPrivateKey = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----(\r?\n|\\n)[A-Za-z0-9+/=]{16}`)

// EndpointKey matches an endpoint key's value (vchwire.SecretKey.String): the prefix and a base64 X25519 key.
var EndpointKey = regexp.MustCompile(`vice-secret-key-1:[A-Za-z0-9+/]{43}=`)

// publicImage says a datastore file is one of the product's images (appliance.iso, bootstrap.iso and their
// saved copies): the same bits for every install, built from the sources. They are searched for this
// install's secrets, not for key-shaped strings: the simulator plugin they carry embeds govmomi's public test
// certificate and key.
func publicImage(name string) bool { return filepath.Ext(name) == ".iso" }

// Leaks lists every place a secret shows in clear, where vSphere users could read it:
//   - every extraConfig value of every VM, read through the API as a user with read access does (what
//     `govc vm.info -e` prints);
//   - every file of the datastore (on the ESXi simulator, which has no local datastore, none), except the
//     endpoint key's line in a .vmx: ESXi keeps vchwire.KeySecretKey there by design, readable by whoever
//     may read the datastore, as the README's threat model says.
//
// A secret is the vSphere password, any PEM private key (its header and base64, in a file or escaped in
// JSON), an endpoint key's value, and each of needles (for a PEM private key give the PEM: its base64 body is
// looked for too).
func (s *Sim) Leaks(t *testing.T, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	look := []string{Password}
	for _, n := range needles {
		look = append(look, n)
		if b, _ := pem.Decode([]byte(n)); b != nil {
			lines := strings.Split(strings.TrimSpace(n), "\n")
			if len(lines) > 2 {
				look = append(look, lines[1]) // the first line of the base64 body, as JSON or a file would hold it
			}
		}
	}
	var found []string
	check := func(where, v string, image bool) {
		for _, n := range look {
			if n != "" && strings.Contains(v, n) {
				found = append(found, fmt.Sprintf("%s shows %.24q", where, n))
			}
		}
		if image {
			return
		}
		if m := PEMPrivateKey.FindString(v); m != "" {
			found = append(found, fmt.Sprintf("%s holds a private key: %.40q", where, m))
		}
		if EndpointKey.MatchString(v) {
			found = append(found, where+" holds an endpoint key")
		}
	}

	v, err := view.NewManager(s.Client).CreateContainerView(ctx, s.Client.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.extraConfig"}, &vms); err != nil {
		t.Fatal(err)
	}
	for _, vm := range vms {
		if vm.Config == nil {
			continue
		}
		for _, o := range vm.Config.ExtraConfig {
			ov := o.GetOptionValue()
			val, _ := ov.Value.(string)
			if strings.EqualFold(ov.Key, vchwire.KeySecretKey) {
				found = append(found, fmt.Sprintf("VM %s: extraConfig shows %s", vm.Name, ov.Key))
			}
			check(fmt.Sprintf("VM %s: extraConfig %s", vm.Name, ov.Key), val, false)
		}
	}

	if s.DatastoreDir == "" {
		return found
	}
	// The VCH runs on while the walk reads: a file or folder it removes meanwhile (a temporary file renamed
	// into place, a container's folder) is no longer there to show anything.
	err = filepath.WalkDir(s.DatastoreDir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.DatastoreDir, p)
		text := string(data)
		if filepath.Ext(p) == ".vmx" {
			if key, ok, _ := vmxfile.Lookup(data, vchwire.KeySecretKey); ok {
				text = strings.ReplaceAll(text, key, "") // by design; the rest of the file is checked
			}
		}
		check("datastore file "+rel, text, publicImage(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
