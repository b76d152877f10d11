package emulator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// datastores maps datastore paths to local files. On the simulator a datastore's URL is the local directory
// holding its files, which is what lets the emulator run guests from them; a datastore whose URL is not a
// local directory cannot be used.
type datastores struct {
	client *vim25.Client

	mu    sync.Mutex
	roots map[string]string // datastore name → local directory
}

// local is the one place that turns "[ds] folder/file" into a local path. Paths that climb out of the
// datastore are refused.
func (d *datastores) local(ctx context.Context, dsPath string) (string, error) {
	var p object.DatastorePath
	if !p.FromString(dsPath) {
		return "", fmt.Errorf("%q is not a datastore path", dsPath)
	}
	root, err := d.root(ctx, p.Datastore)
	if err != nil {
		return "", err
	}
	local := filepath.Join(root, filepath.FromSlash(p.Path))
	if rel, err := filepath.Rel(root, local); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%q leaves datastore %s", dsPath, p.Datastore)
	}
	return local, nil
}

// root is the local directory of the datastore called name, looked up again when it is not known yet
// (datastores can be added while the emulator runs).
func (d *datastores) root(ctx context.Context, name string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.roots[name]; ok {
		return r, nil
	}
	// The finder walks the inventory with the property collector; a ContainerView is avoided here as in
	// sdkwatch.go, since creating one while VMs are registered can deadlock the simulator.
	found, err := find.NewFinder(d.client).DatastoreList(ctx, "/*/datastore/*")
	if err != nil {
		return "", fmt.Errorf("list datastores: %w", err)
	}
	refs := make([]types.ManagedObjectReference, len(found))
	for i, ds := range found {
		refs[i] = ds.Reference()
	}
	var all []mo.Datastore
	if err := property.DefaultCollector(d.client).Retrieve(ctx, refs, []string{"name", "summary.url"}, &all); err != nil {
		return "", fmt.Errorf("list datastores: %w", err)
	}
	roots := map[string]string{}
	for _, ds := range all {
		if u := ds.Summary.Url; filepath.IsAbs(u) {
			if st, err := os.Stat(u); err == nil && st.IsDir() {
				roots[ds.Name] = u
			}
		}
	}
	d.roots = roots
	if r, ok := roots[name]; ok {
		return r, nil
	}
	return "", fmt.Errorf("datastore %q is not a local directory of this host", name)
}
