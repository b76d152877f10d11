package vch

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// DefaultVolumeStoreLabel is the label of a --volume-store given without one; docker volume create uses the
// store labelled "default" unless told otherwise.
const DefaultVolumeStoreLabel = "default"

// VolumeStore is one --volume-store: a folder on a datastore that holds docker volumes, or an NFS export,
// and its label.
type VolumeStore struct {
	Label     string
	Datastore string
	Path      string // inside the datastore, no leading or trailing slash; may be empty
	NFS       string // the export's URL (nfs://host/path?uid=&gid=) instead of a datastore folder
}

var labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ParseVolumeStore reads "[datastore] path:label", "datastore/path:label", "ds://datastore/path:label" or
// "nfs://host/path?uid=&gid=:label" (vchwire.ParseVolumeStoreFlag); the label defaults to "default".
func ParseVolumeStore(s string) (VolumeStore, error) {
	w, err := vchwire.ParseVolumeStoreFlag(s)
	if err != nil {
		return VolumeStore{}, fmt.Errorf("--%w", err)
	}
	if w.Scheme == vchwire.VolumeStoreNFS {
		return VolumeStore{Label: w.Label, NFS: w.URL()}, nil
	}
	return VolumeStore{Label: w.Label, Datastore: w.Datastore, Path: w.Path}, nil
}

// URL is the store as the appliance configuration has it: "ds://datastore/path".
func (v VolumeStore) URL() string {
	if v.NFS != "" {
		return v.NFS
	}
	if v.Path == "" {
		return "ds://" + v.Datastore
	}
	return "ds://" + v.Datastore + "/" + v.Path
}

// Flag is the store as --volume-store takes it.
func (v VolumeStore) Flag() string {
	if v.NFS != "" {
		return v.NFS + ":" + v.Label
	}
	s := v.Datastore
	if v.Path != "" {
		s += "/" + v.Path
	}
	return s + ":" + v.Label
}

// volumeStoreFromURL reverses URL for a label.
func volumeStoreFromURL(label, url string) VolumeStore {
	if strings.HasPrefix(url, "nfs://") {
		return VolumeStore{Label: label, NFS: url}
	}
	ds, p, _ := strings.Cut(strings.TrimPrefix(url, "ds://"), "/")
	return VolumeStore{Label: label, Datastore: ds, Path: strings.Trim(p, "/")}
}

// datastores lists the datastores the compute resource's hosts can use, by name.
func (s *Session) datastores(ctx context.Context, p *placement) (map[string]types.ManagedObjectReference, error) {
	var crmo mo.ComputeResource
	if err := p.Compute.Properties(ctx, p.Compute.Reference(), []string{"datastore"}, &crmo); err != nil {
		return nil, fmt.Errorf("list the datastores of %s: %w", p.Compute.InventoryPath, err)
	}
	out := map[string]types.ManagedObjectReference{}
	if len(crmo.Datastore) == 0 {
		return out, nil
	}
	var dss []mo.Datastore
	if err := property.DefaultCollector(s.Client).Retrieve(ctx, crmo.Datastore, []string{"name"}, &dss); err != nil {
		return nil, fmt.Errorf("read datastore names: %w", err)
	}
	for _, ds := range dss {
		out[ds.Name] = ds.Self
	}
	return out, nil
}

// datastore resolves a datastore name for flag among the available ones (an empty name is the only one).
func (s *Session) datastore(ctx context.Context, avail map[string]types.ManagedObjectReference, name, flag string) (*object.Datastore, error) {
	names := make([]string, 0, len(avail))
	for n := range avail {
		names = append(names, n)
	}
	if name == "" {
		if len(names) != 1 {
			return nil, fmt.Errorf("%s is required: the compute resource can use %d datastores\n%s", flag, len(names), suggest(flag, names))
		}
		name = names[0]
	}
	if _, ok := avail[name]; !ok {
		return nil, fmt.Errorf("datastore %q (%s) not found or not available to the compute resource\n%s", name, flag, suggest(flag, names))
	}
	ds, err := s.Finder.Datastore(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("find datastore %q: %w", name, err)
	}
	return ds, nil
}
