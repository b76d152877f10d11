package vsphere

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// A volume store (DESIGN §5b) is a datastore folder: its volumes are `<path>/volumes/<name>/<name>.vmdk`,
// each with its record `volume.json` beside the disk. The store belongs to no VCH, so a VCH deleted without
// its volumes leaves them, and a new VCH given the same store finds them.
const (
	volumesFolder = "volumes"
	volumeRecord  = "volume.json"
)

// volumeStore is one configured store, resolved in the inventory.
type volumeStore struct {
	cfg   vchwire.VolumeStore
	files dsFiles // datastore stores
	// local is the directory holding the datastore's files when they are on this machine (the simulator):
	// a volume disk's contents are then a directory beside its descriptor, as layers' are.
	local string
}

// nfs reports a store on an NFS export, which this backend does not serve yet.
func (s *volumeStore) nfs() bool { return s.cfg.Scheme == vchwire.VolumeStoreNFS }

// folder is the store's volumes folder, relative to its datastore.
func (s *volumeStore) folder() string { return path.Join(s.cfg.Path, volumesFolder) }

// volumeDir is the folder of volume name.
func (s *volumeStore) volumeDir(name string) string { return path.Join(s.folder(), name) }

// descriptor is the disk of volume name.
func (s *volumeStore) descriptor(name string) string {
	return path.Join(s.volumeDir(name), name+".vmdk")
}

// localPath maps rel on the store's datastore to its local file; "" when the datastore is not local.
func (s *volumeStore) localPath(rel string) string {
	if s.local == "" {
		return ""
	}
	return filepath.Join(s.local, filepath.FromSlash(rel))
}

// openVolumeStores resolves the configured stores: each datastore is found and its volumes folder made. A
// store on an NFS export is not implemented by this backend yet and is refused.
func (b *Backend) openVolumeStores(ctx context.Context) error {
	b.vols.stores = map[string]*volumeStore{}
	f := find.NewFinder(b.sess.client, false)
	f.SetDatacenter(b.where.datacenter)
	for _, c := range b.cfg.VolumeStores {
		if _, dup := b.vols.stores[c.Label]; dup {
			return fmt.Errorf("volume store label %q is given twice: %w", c.Label, errdefs.ErrInvalid)
		}
		if c.Scheme != vchwire.VolumeStoreDatastore {
			// The export is reached when a volume is made or read: an unreachable server fails those, not the VCH.
			b.vols.stores[c.Label] = &volumeStore{cfg: c}
			b.log.Info("volume store", "label", c.Label, "url", c.URL())
			continue
		}
		ds, err := f.Datastore(ctx, c.Datastore)
		if err != nil {
			return fmt.Errorf("volume store %s: %w", c.Label, classify(err, "datastore "+c.Datastore))
		}
		s := &volumeStore{cfg: c, files: dsFiles{client: b.sess.client, ds: ds, dc: b.where.datacenter}}
		var m mo.Datastore
		if err := ds.Properties(ctx, ds.Reference(), []string{"summary"}, &m); err != nil {
			return classify(err, "read the summary of datastore "+ds.Name())
		}
		if dir := m.Summary.Url; filepath.IsAbs(dir) {
			if st, err := os.Stat(dir); err == nil && st.IsDir() {
				s.local = dir
			}
		}
		if err := s.files.mkdirAll(ctx, s.folder()); err != nil {
			return fmt.Errorf("volume store %s: %w", c.Label, err)
		}
		b.vols.stores[c.Label] = s
		b.log.Info("volume store", "label", c.Label, "url", c.URL())
	}
	return nil
}

// store returns the store labelled label ("" is the default one).
func (b *Backend) store(label string) (*volumeStore, error) {
	if label == "" {
		label = vchwire.DefaultVolumeStore
	}
	s, ok := b.vols.stores[label]
	if !ok {
		if len(b.vols.stores) == 0 {
			return nil, fmt.Errorf("no volume store %q: this VCH has no volume stores (vice-machine create --volume-store): %w",
				label, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("no volume store %q: %w", label, errdefs.ErrNotFound)
	}
	return s, nil
}

// storeLabels are the labels of the stores, sorted.
func (b *Backend) storeLabels() []string {
	var out []string
	for l := range b.vols.stores {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// ListVolumeStores describes the stores with their datastores' capacity.
func (b *Backend) ListVolumeStores(ctx context.Context) ([]*models.VolumeStore, error) {
	out := []*models.VolumeStore{}
	for _, l := range b.storeLabels() {
		s := b.vols.stores[l]
		if s.nfs() {
			out = append(out, &models.VolumeStore{Name: l, Type: "nfs", URL: s.cfg.URL()})
			continue
		}
		vs := &models.VolumeStore{Name: l, Type: "vmdk", URL: s.cfg.URL(), Datastore: s.cfg.Datastore}
		var m mo.Datastore
		if err := s.files.ds.Properties(ctx, s.files.ds.Reference(), []string{"summary"}, &m); err != nil {
			return nil, classify(err, "read the summary of datastore "+s.files.ds.Name())
		}
		vs.CapacityBytes, vs.FreeBytes = m.Summary.Capacity, m.Summary.FreeSpace
		out = append(out, vs)
	}
	return out, nil
}

// storeDatastore is the govmomi datastore of s, for device backings.
func (s *volumeStore) datastore() *object.Datastore { return s.files.ds }

// VolumeStoreFlags is a repeatable --volume-store flag of a plugin: "URL:label" or "[datastore] path:label"
// (vchwire.ParseVolumeStoreFlag).
type VolumeStoreFlags []vchwire.VolumeStore

// String lists the stores as the flag takes them.
func (f *VolumeStoreFlags) String() string {
	var parts []string
	for _, s := range *f {
		parts = append(parts, s.URL()+":"+s.Label)
	}
	return strings.Join(parts, ",")
}

// Set adds one store.
func (f *VolumeStoreFlags) Set(v string) error {
	s, err := vchwire.ParseVolumeStoreFlag(v)
	if err != nil {
		return err
	}
	*f = append(*f, s)
	return nil
}
