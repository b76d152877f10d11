package vcsim

import (
	"context"
	"time"

	"github.com/vmware/govmomi/simulator"
	"golang.org/x/sys/unix"
)

// The simulator keeps a datastore's space as an account of its own: 1 TB per host, less the capacity of every
// disk made, given back only when Destroy_Task deletes a disk. The VCH takes a containerVM out of the inventory
// with UnregisterVM and deletes its folder, which the account never sees, so after a hundred or so containers
// it would report less than nothing free. The file system holding the datastore's directory is what a real
// datastore reports, so datastore1 reports that: its capacity and free space are taken from statfs(2) at start
// and every dsSpaceEvery after, as vSphere refreshes a datastore's summary now and then.

// dsSpaceEvery is how often datastore1's space is read from its file system.
var dsSpaceEvery = 5 * time.Second

// followDatastoreSpace keeps datastore1's summary and info at the space of dir's file system until ctx ends.
func followDatastoreSpace(ctx context.Context, sctx *simulator.Context, dir string) {
	refresh := func() {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return
		}
		capacity, free := int64(st.Blocks)*st.Bsize, int64(st.Bavail)*st.Bsize
		for _, obj := range sctx.Map.All("Datastore") {
			ds, ok := obj.(*simulator.Datastore)
			if !ok || ds.Name != DatastoreName {
				continue
			}
			// Read on demand (the summary is not watched): no update goes to the collectors, which would
			// re-collect every filter for it.
			sctx.WithLock(ds, func() {
				ds.Summary.Capacity, ds.Summary.FreeSpace = capacity, free
				if ds.Info != nil {
					ds.Info.GetDatastoreInfo().FreeSpace = free
				}
			})
		}
	}
	refresh()
	t := time.NewTicker(dsSpaceEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			refresh()
		}
	}
}
