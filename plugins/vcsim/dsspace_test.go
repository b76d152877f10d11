package vcsim

import (
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"golang.org/x/sys/unix"
)

// TestDatastoreSpaceIsTheFileSystems: datastore1 reports the space of the file system holding its directory,
// and a summary the simulator's own account has moved (a disk made, an unregistered VM's disk never given
// back) is set right at the next refresh.
func TestDatastoreSpaceIsTheFileSystems(t *testing.T) {
	every := dsSpaceEvery
	dsSpaceEvery = 50 * time.Millisecond
	t.Cleanup(func() { dsSpaceEvery = every })
	dir := t.TempDir()
	inf := start(t, dir)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	capacity := int64(st.Blocks) * st.Bsize
	sctx := inf.model.Service.Context
	var ds *simulator.Datastore
	for _, obj := range sctx.Map.All("Datastore") {
		if d, ok := obj.(*simulator.Datastore); ok && d.Name == DatastoreName {
			ds = d
		}
	}
	if ds == nil {
		t.Fatal("no datastore1 in the registry")
	}
	space := func() (c, f, info int64) {
		sctx.WithLock(ds, func() { c, f, info = ds.Summary.Capacity, ds.Summary.FreeSpace, ds.Info.GetDatastoreInfo().FreeSpace })
		return
	}
	if c, f, info := space(); c != capacity || f <= 0 || f > capacity || info != f {
		t.Fatalf("capacity %d, free %d (info %d); the file system has %d", c, f, info, capacity)
	}
	sctx.WithLock(ds, func() { ds.Summary.FreeSpace = -8 << 30 })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, f, _ := space(); f > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the datastore's free space was not read from its file system again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	inf.Close()
	sctx.WithLock(ds, func() { ds.Summary.FreeSpace = -1 })
	time.Sleep(3 * dsSpaceEvery)
	if _, f, _ := space(); f != -1 {
		t.Errorf("the space was still followed after Close: free %d", f)
	}
}
