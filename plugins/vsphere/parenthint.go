package vsphere

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// A delta disk's descriptor names its parent in parentFileNameHint: relative to the child's folder when vice
// made the chain, but ESXi writes what it likes, often an absolute path /vmfs/volumes/<volume>/<path>,
// where <volume> is the datastore's name (ESXi keeps a symlink by that name) or, usually, its volume's ID
// (a VMFS UUID, or an NFS datastore's ID), as the datastore's URL ds:///vmfs/volumes/<id>/ shows it.

const vmfsVolumes = "/vmfs/volumes/"

// datastoreNames is what names a datastore in an ESXi path: its name and its volume's IDs.
type datastoreNames struct {
	name string
	ids  []string
}

// parentPath is the datastore path of the parent named by hint, the parent hint of the delta disk whose
// descriptor is at the datastore path desc. stores lists the datastores, for an absolute hint only.
func parentPath(desc, hint string, stores func() ([]datastoreNames, error)) (string, error) {
	ds, rel, ok := splitDatastorePath(desc)
	if !ok {
		return "", fmt.Errorf("%q is not a datastore path: %w", desc, errdefs.ErrInvalid)
	}
	switch {
	case hint == "":
		return "", fmt.Errorf("disk %s has no parent: %w", desc, errdefs.ErrNotFound)
	case strings.HasPrefix(hint, "["):
		if _, _, ok := splitDatastorePath(hint); !ok {
			return "", fmt.Errorf("disk %s: parent hint %q: %w", desc, hint, errdefs.ErrInvalid)
		}
		return hint, nil
	case !path.IsAbs(hint):
		return "[" + ds + "] " + path.Join(path.Dir(rel), hint), nil
	}
	volume, file, _ := strings.Cut(strings.TrimPrefix(path.Clean(hint), vmfsVolumes), "/")
	if !strings.HasPrefix(hint, vmfsVolumes) || volume == "" || file == "" {
		return "", fmt.Errorf("disk %s: parent hint %q is not a path on a datastore (%s<datastore>/...): %w",
			desc, hint, vmfsVolumes, errdefs.ErrInvalid)
	}
	all, err := stores()
	if err != nil {
		return "", err
	}
	for _, s := range all {
		if s.name == volume {
			return "[" + s.name + "] " + file, nil
		}
	}
	for _, s := range all {
		for _, id := range s.ids {
			if strings.EqualFold(id, volume) {
				return "[" + s.name + "] " + file, nil
			}
		}
	}
	return "", fmt.Errorf("disk %s: the parent's datastore %s (hint %q) is not one of the datacenter's: %w",
		desc, volume, hint, errdefs.ErrNotFound)
}

// splitDatastorePath reads "[ds] rel".
func splitDatastorePath(p string) (ds, rel string, ok bool) {
	if !strings.HasPrefix(p, "[") {
		return "", "", false
	}
	ds, rel, ok = strings.Cut(p[1:], "]")
	if !ok || ds == "" {
		return "", "", false
	}
	return ds, strings.TrimSpace(rel), true
}

// datastoreNames lists the datacenter's datastores with the IDs ESXi paths may use for them.
func (b *Backend) datastoreNames(ctx context.Context) ([]datastoreNames, error) {
	f := find.NewFinder(b.sess.client, false)
	f.SetDatacenter(b.where.datacenter)
	list, err := f.DatastoreList(ctx, "*")
	if err != nil {
		return nil, classify(err, "list datastores")
	}
	out := make([]datastoreNames, 0, len(list))
	for _, ds := range list {
		var m mo.Datastore
		if err := ds.Properties(ctx, ds.Reference(), []string{"name", "info", "summary.url"}, &m); err != nil {
			return nil, classify(err, "read datastore "+ds.Name())
		}
		n := datastoreNames{name: m.Name}
		urls := []string{m.Summary.Url}
		if m.Info != nil {
			info := m.Info.GetDatastoreInfo()
			urls = append(urls, info.Url)
			if v, ok := m.Info.(*types.VmfsDatastoreInfo); ok && v.Vmfs != nil {
				n.ids = append(n.ids, v.Vmfs.Uuid)
			}
		}
		for _, u := range urls {
			// ds:///vmfs/volumes/<id>/
			if _, after, ok := strings.Cut(u, vmfsVolumes); ok {
				if id, _, _ := strings.Cut(after, "/"); id != "" {
					n.ids = append(n.ids, id)
				}
			}
		}
		out = append(out, n)
	}
	return out, nil
}
