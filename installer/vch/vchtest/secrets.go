package vchtest

import (
	"context"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
)

// Leaks lists every place a secret shows in clear, where vSphere users could read it:
//   - every extraConfig value of every VM, read through the API as a user with read access does (what
//     `govc vm.info -e` prints);
//   - every file of the datastore (on the ESXi simulator, which has no local datastore, none), except the
//     endpoint key's line in a .vmx: ESXi keeps vchwire.KeySecretKey there by design, readable by whoever
//     may read the datastore, as the README's threat model says.
//
// A secret is the vSphere password, any PEM private key ("PRIVATE KEY"), the endpoint key's value, and each
// of needles (for a PEM private key give the PEM: its base64 body is looked for too).
func (s *Sim) Leaks(t *testing.T, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	look := []string{Password, "PRIVATE KEY"}
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
	check := func(where, v string) {
		for _, n := range look {
			if n != "" && strings.Contains(v, n) {
				found = append(found, fmt.Sprintf("%s shows %.24q", where, n))
			}
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
			check(fmt.Sprintf("VM %s: extraConfig %s", vm.Name, ov.Key), val)
			if strings.HasPrefix(val, "vice-secret-key-") {
				found = append(found, fmt.Sprintf("VM %s: extraConfig %s holds an endpoint key", vm.Name, ov.Key))
			}
		}
	}

	if s.DatastoreDir == "" {
		return found
	}
	err = filepath.WalkDir(s.DatastoreDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
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
		check("datastore file "+rel, text)
		if strings.Contains(text, "vice-secret-key-") {
			found = append(found, "datastore file "+rel+" holds an endpoint key")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
