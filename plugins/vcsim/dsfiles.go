package vcsim

import (
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// datastoreFiles serves GET (and HEAD) of datastore files, /folder/<path>?dcPath=<datacenter>&dsName=<name>,
// as the simulator does, without its search of the inventory: the simulator looks the datacenter and the
// datastore up on every request through a SOAP client of its own (the service content, then a finder's
// listings, each object deep-copied), about 0.8 ms of the 1 ms a read of a container's output.log costs it.
// Here the datastore found for a (dcPath, dsName) is kept by reference, and on each request it is checked
// that the reference still names a datastore called dsName in the datacenter at dcPath (a few registry
// lookups), so a renamed, moved or removed one is looked up again. The file is then served as the
// simulator serves it (http.FileServer over the datastore's directory). What this cannot answer (another
// method, a vSAN datastore, a query naming no datacenter or datastore, one that names none there) goes to
// the simulator.
type datastoreFiles struct {
	svc  *simulator.Service
	next http.Handler

	mu    sync.Mutex
	found map[[2]string]types.ManagedObjectReference
}

func (h *datastoreFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dcPath, dsName := q.Get("dcPath"), q.Get("dsName")
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || dcPath == "" || dsName == "" ||
		strings.Contains(r.URL.Path, "..") {
		h.next.ServeHTTP(w, r)
		return
	}
	ds := h.datastore(dcPath, dsName)
	if ds == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	// The simulator's own resolution of a path on a datastore that is not vSAN.
	root := ds.Summary.Url
	p := path.Join(root, strings.TrimPrefix(r.URL.Path, "/folder/"))
	r.URL.Path = strings.TrimPrefix(p, root)
	http.FileServer(http.Dir(root)).ServeHTTP(w, r)
}

// datastore is the local datastore named dsName in the datacenter at inventory path dcPath, or nil.
func (h *datastoreFiles) datastore(dcPath, dsName string) *simulator.Datastore {
	key := [2]string{path.Join("/", dcPath), dsName}
	reg := h.svc.Context.Map
	h.mu.Lock()
	ref, ok := h.found[key]
	h.mu.Unlock()
	if ok {
		if ds, _ := reg.Get(ref).(*simulator.Datastore); ds != nil && h.names(ds, key) {
			return ds
		}
	}
	var match *simulator.Datastore
	for _, e := range reg.All("Datastore") {
		ds, _ := e.(*simulator.Datastore)
		if ds == nil || !h.names(ds, key) {
			continue
		}
		if match != nil {
			return nil // two of that name: the simulator's finder says which, if any
		}
		match = ds
	}
	if match == nil {
		return nil
	}
	h.mu.Lock()
	if h.found == nil {
		h.found = map[[2]string]types.ManagedObjectReference{}
	}
	h.found[key] = match.Self
	h.mu.Unlock()
	return match
}

// names says ds is a local datastore called key[1] in the datacenter at inventory path key[0].
func (h *datastoreFiles) names(ds *simulator.Datastore, key [2]string) bool {
	if ds.Name != key[1] || ds.Summary.Type == string(types.HostFileSystemVolumeFileSystemTypeVsan) {
		return false
	}
	reg := h.svc.Context.Map
	var dc mo.Entity
	var elems []string
	for e := mo.Entity(ds); e.Entity().Parent != nil; {
		parent, _ := reg.Get(*e.Entity().Parent).(mo.Entity)
		if parent == nil {
			return false
		}
		if parent.Reference().Type == "Datacenter" {
			dc = parent
		}
		if dc != nil && parent.Entity().Parent != nil { // the root folder has no name in a path
			elems = append(elems, parent.Entity().Name)
		}
		e = parent
	}
	if dc == nil {
		return false
	}
	for i, j := 0, len(elems)-1; i < j; i, j = i+1, j-1 {
		elems[i], elems[j] = elems[j], elems[i]
	}
	return "/"+strings.Join(elems, "/") == key[0]
}
