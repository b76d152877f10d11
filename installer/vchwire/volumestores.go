package vchwire

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// A volume store is where a VCH keeps docker volumes (vice-machine --volume-store). The appliance config keeps
// each as a URL under its label (ApplianceConfig.VolumeStores), and the init passes them to the backend plugin
// as --volume-store URL:label. Both sides read them with the functions here.
const (
	// DefaultVolumeStore is the label of the store volumes go to when none is named, and of a store given
	// without a label.
	DefaultVolumeStore = "default"
	// VolumeStoreDatastore is the scheme of a datastore folder holding volume disks: ds://datastore/path.
	VolumeStoreDatastore = "ds"
	// VolumeStoreNFS is the scheme of an NFS export holding volume directories: nfs://host/path?uid=&gid=.
	VolumeStoreNFS = "nfs"
)

var volumeStoreLabel = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// VolumeStore is one volume store: its label and where it is.
type VolumeStore struct {
	Label string
	// Scheme is VolumeStoreDatastore or VolumeStoreNFS.
	Scheme string
	// Datastore and Path: the datastore's name and the folder in it (no leading or trailing slash; may be
	// empty). For NFS, Host is the server (host or host:port) and Path the directory of the export.
	Datastore string
	Host      string
	Path      string
	// UID and GID own the volumes' directories of an NFS store (-1 when not given: the server's default).
	UID, GID int
}

// URL is the store as the appliance config keeps it.
func (v VolumeStore) URL() string {
	if v.Scheme == VolumeStoreNFS {
		u := url.URL{Scheme: VolumeStoreNFS, Host: v.Host, Path: "/" + strings.Trim(v.Path, "/")}
		q := url.Values{}
		if v.UID >= 0 {
			q.Set("uid", strconv.Itoa(v.UID))
		}
		if v.GID >= 0 {
			q.Set("gid", strconv.Itoa(v.GID))
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	if v.Path == "" {
		return "ds://" + v.Datastore
	}
	return "ds://" + v.Datastore + "/" + v.Path
}

// ParseVolumeStoreFlag reads a --volume-store value: "[datastore]path:label", "datastore/path:label",
// "ds://datastore/path:label" or "nfs://host/path?uid=&gid=:label". Without a label the store is "default".
func ParseVolumeStoreFlag(s string) (VolumeStore, error) {
	raw := strings.TrimSpace(s)
	loc, label := raw, DefaultVolumeStore
	if i := strings.LastIndex(raw, ":"); i >= 0 && !strings.ContainsAny(raw[i+1:], "/]?=") {
		loc, label = raw[:i], raw[i+1:]
	}
	if !volumeStoreLabel.MatchString(label) {
		return VolumeStore{}, fmt.Errorf("volume store %q: label %q must be letters, digits, '.', '_' or '-'", raw, label)
	}
	v, err := ParseVolumeStoreURL(loc)
	if err != nil {
		return VolumeStore{}, fmt.Errorf("volume store %q: %w", raw, err)
	}
	v.Label = label
	return v, nil
}

// ParseVolumeStoreURL reads where a store is: "ds://datastore/path", "[datastore] path", "datastore/path" or
// "nfs://host/path?uid=&gid=".
func ParseVolumeStoreURL(s string) (VolumeStore, error) {
	v := VolumeStore{Scheme: VolumeStoreDatastore, UID: -1, GID: -1}
	switch {
	case strings.HasPrefix(s, "nfs://"):
		u, err := url.Parse(s)
		if err != nil {
			return v, fmt.Errorf("NFS URL: %w", err)
		}
		v.Scheme, v.Host, v.Path = VolumeStoreNFS, u.Host, strings.Trim(u.Path, "/")
		if v.Host == "" {
			return v, fmt.Errorf("an NFS store needs a host: nfs://host/path")
		}
		for k, dst := range map[string]*int{"uid": &v.UID, "gid": &v.GID} {
			if q := u.Query().Get(k); q != "" {
				n, err := strconv.Atoi(q)
				if err != nil || n < 0 {
					return v, fmt.Errorf("NFS %s %q is not a number", k, q)
				}
				*dst = n
			}
		}
		return v, nil
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return v, fmt.Errorf("%q: a datastore path is [datastore] path", s)
		}
		v.Datastore, v.Path = s[1:end], s[end+1:]
	case strings.Contains(s, "://") && !strings.HasPrefix(s, "ds://"):
		return v, fmt.Errorf("%q: a store is ds://datastore/path, [datastore] path or nfs://host/path", s)
	default:
		v.Datastore, v.Path, _ = strings.Cut(strings.TrimPrefix(s, "ds://"), "/")
	}
	v.Datastore, v.Path = strings.TrimSpace(v.Datastore), strings.Trim(strings.TrimSpace(v.Path), "/")
	if v.Datastore == "" {
		return v, fmt.Errorf("%q names no datastore", s)
	}
	return v, nil
}
