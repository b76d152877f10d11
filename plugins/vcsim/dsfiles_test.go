package vcsim

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// A datastore file is read as the simulator serves it (whole, by range, a missing one 404), without the
// simulator's search of the inventory; what names no datastore there, and uploads, go to the simulator.
func TestDatastoreFilesByName(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	inf := start(t, dir)
	c, err := govmomi.NewClient(ctx, inf.URL(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	ds, err := find.NewFinder(c.Client, true).Datastore(ctx, "/DC0/datastore/"+DatastoreName)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "vm-a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vm-a", "output.log"), []byte("line one\nline two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	inf.model.Map().Handler = func(*simulator.Context, *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		calls.Add(1)
		return nil, nil
	}
	get := func(rel string, headers map[string]string) (int, string) {
		t.Helper()
		u, ticket, err := ds.ServiceTicket(ctx, rel, http.MethodGet)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Client.DownloadRequest(ctx, u, &soap.Download{Method: http.MethodGet, Ticket: ticket, Headers: headers})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := get("vm-a/output.log", nil); code != http.StatusOK || body != "line one\nline two\n" {
		t.Errorf("GET: %d %q", code, body)
	}
	if code, body := get("vm-a/output.log", map[string]string{"Range": "bytes=9-"}); code != http.StatusPartialContent || body != "line two\n" {
		t.Errorf("GET of a range: %d %q", code, body)
	}
	if code, _ := get("vm-a/missing.log", nil); code != http.StatusNotFound {
		t.Errorf("GET of a missing file: %d, want 404", code)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the reads made %d calls to the simulator's methods, want 0", n)
	}

	// A datacenter that is not there: the simulator's answer (404).
	u, _, _ := ds.ServiceTicket(ctx, "vm-a/output.log", http.MethodGet)
	q := u.Query()
	q.Set("dcPath", "/DC9")
	u.RawQuery = q.Encode()
	res, err := c.Client.DownloadRequest(ctx, u, &soap.Download{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET in datacenter /DC9: %d, want 404", res.StatusCode)
	}

	// An upload still goes to the simulator, and what it wrote is read back.
	if err := ds.Upload(ctx, strings.NewReader("uploaded\n"), "vm-a/new.log", &soap.DefaultUpload); err != nil {
		t.Fatal(err)
	}
	if code, body := get("vm-a/new.log", nil); code != http.StatusOK || body != "uploaded\n" {
		t.Errorf("GET of an uploaded file: %d %q", code, body)
	}
}
