package vsphere

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
)

// Datastore file operations, all through the vSphere APIs (FileManager, VirtualDiskManager, the datastore
// browser and the datastore's HTTP /folder endpoint). A dsFiles works on one datastore, with paths relative to
// its root; the Backend's methods of the same names work on the image store's.

// dsFiles is the files of one datastore of the VCH's datacenter.
type dsFiles struct {
	client *vim25.Client
	ds     *object.Datastore
	dc     *object.Datacenter
}

// imageFiles is the image store's datastore (which also holds the containerVMs and the kv records).
func (b *Backend) imageFiles() dsFiles {
	return dsFiles{client: b.sess.client, ds: b.where.datastore, dc: b.where.datacenter}
}

func (b *Backend) mkdirAll(ctx context.Context, rel string) error {
	return b.imageFiles().mkdirAll(ctx, rel)
}
func (b *Backend) uploadFile(ctx context.Context, rel string, data []byte) error {
	return b.imageFiles().uploadFile(ctx, rel, data)
}
func (b *Backend) openFile(ctx context.Context, rel string) (io.ReadCloser, error) {
	return b.imageFiles().openFile(ctx, rel)
}
func (b *Backend) readFile(ctx context.Context, rel string, limit int64) ([]byte, error) {
	return b.imageFiles().readFile(ctx, rel, limit)
}
func (b *Backend) move(ctx context.Context, from, to string) error {
	return b.imageFiles().move(ctx, from, to)
}

// deleteFile removes the file or folder rel with everything in it. On a datastore whose files are on this
// machine that is done here, as the simulator's FileManager would do it, without its task and reads.
func (b *Backend) deleteFile(ctx context.Context, rel string) error {
	if l := b.layers.local.Load(); l != nil {
		return l.removeAll(rel)
	}
	return b.imageFiles().deleteFile(ctx, rel)
}
func (b *Backend) deleteDisk(ctx context.Context, rel string) error {
	return b.imageFiles().deleteDisk(ctx, rel)
}
func (b *Backend) subfolders(ctx context.Context, rel string) ([]string, error) {
	return b.imageFiles().subfolders(ctx, rel)
}

// mkdirAll creates the folder rel and its parents; an existing folder is fine.
func (f dsFiles) mkdirAll(ctx context.Context, rel string) error {
	fm := object.NewFileManager(f.client)
	err := fm.MakeDirectory(ctx, f.ds.Path(rel), f.dc, true)
	if err == nil || errdefs.Is(classify(err, ""), errdefs.ErrConflict) {
		return nil
	}
	return classify(err, "create "+f.ds.Path(rel))
}

// mkdir creates the folder rel, whose parent exists, and says whether it did: false when rel existed
// (vSphere's FileAlreadyExists, which a creation of the parents too would not report).
func (f dsFiles) mkdir(ctx context.Context, rel string) (created bool, _ error) {
	fm := object.NewFileManager(f.client)
	err := fm.MakeDirectory(ctx, f.ds.Path(rel), f.dc, false)
	switch {
	case err == nil:
		return true, nil
	case errdefs.Is(classify(err, ""), errdefs.ErrConflict):
		return false, nil
	}
	return false, classify(err, "create "+f.ds.Path(rel))
}

// uploadFile writes data to the file rel, replacing it.
func (f dsFiles) uploadFile(ctx context.Context, rel string, data []byte) error {
	upload := soap.DefaultUpload
	upload.ContentLength = int64(len(data))
	if err := f.ds.Upload(ctx, bytes.NewReader(data), rel, &upload); err != nil {
		return classify(err, "upload "+f.ds.Path(rel))
	}
	return nil
}

// openFile streams the file rel; a missing file is an errdefs.ErrNotFound error.
func (f dsFiles) openFile(ctx context.Context, rel string) (io.ReadCloser, error) {
	ds := f.ds
	u, ticket, err := ds.ServiceTicket(ctx, rel, http.MethodGet)
	if err != nil {
		return nil, classify(err, "read "+ds.Path(rel))
	}
	// DownloadRequest (unlike Download) leaves the status to us, so a missing file is told apart.
	res, err := f.client.DownloadRequest(ctx, u, &soap.Download{Method: http.MethodGet, Ticket: ticket})
	if err != nil {
		return nil, classify(err, "read "+ds.Path(rel))
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("read %s: %s: %w", ds.Path(rel), res.Status, httpStatusClass(res.StatusCode))
	}
	return res.Body, nil
}

// readFile reads the whole file rel, which must not be larger than limit.
func (f dsFiles) readFile(ctx context.Context, rel string, limit int64) ([]byte, error) {
	rc, err := f.openFile(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, classify(err, "read "+f.ds.Path(rel))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", f.ds.Path(rel), limit, errdefs.ErrSystem)
	}
	return data, nil
}

// move renames the file or folder from to to; an existing destination is an errdefs.ErrConflict error.
func (f dsFiles) move(ctx context.Context, from, to string) error {
	ds, dc := f.ds, f.dc
	fm := object.NewFileManager(f.client)
	task, err := fm.MoveDatastoreFile(ctx, ds.Path(from), dc, ds.Path(to), dc, false)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	return classify(err, "move "+ds.Path(from)+" to "+ds.Path(to))
}

// deleteFile removes the file or folder (with everything in it) rel.
func (f dsFiles) deleteFile(ctx context.Context, rel string) error {
	fm := object.NewFileManager(f.client)
	task, err := fm.DeleteDatastoreFile(ctx, f.ds.Path(rel), f.dc)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	return classify(err, "delete "+f.ds.Path(rel))
}

// deleteDisk removes the virtual disk whose descriptor is rel, with its extents.
func (f dsFiles) deleteDisk(ctx context.Context, rel string) error {
	vdm := object.NewVirtualDiskManager(f.client)
	task, err := vdm.DeleteVirtualDisk(ctx, f.ds.Path(rel), f.dc)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	return classify(err, "delete disk "+f.ds.Path(rel))
}

// subfolders lists the names of the folders in rel; a missing folder has none.
func (f dsFiles) subfolders(ctx context.Context, rel string) ([]string, error) {
	ds := f.ds
	browser, err := ds.Browser(ctx)
	if err != nil {
		return nil, classify(err, "datastore browser of "+ds.Name())
	}
	spec := types.HostDatastoreBrowserSearchSpec{
		Query:        []types.BaseFileQuery{&types.FolderFileQuery{}},
		MatchPattern: []string{"*"}, // the simulator matches nothing without a pattern
		Details:      &types.FileQueryFlags{FileType: true},
	}
	task, err := browser.SearchDatastore(ctx, ds.Path(rel), &spec)
	if err != nil {
		return nil, classify(err, "browse "+ds.Path(rel))
	}
	info, err := vtask.Wait(ctx, task)
	if err != nil {
		if errdefs.Is(classify(err, ""), errdefs.ErrNotFound) {
			return nil, nil
		}
		return nil, classify(err, "browse "+ds.Path(rel))
	}
	res, ok := info.Result.(types.HostDatastoreBrowserSearchResults)
	if !ok {
		return nil, fmt.Errorf("browse %s: unexpected result %T: %w", ds.Path(rel), info.Result, errdefs.ErrSystem)
	}
	var names []string
	for _, f := range res.File {
		if _, isDir := f.(*types.FolderFileInfo); isDir {
			names = append(names, path.Base(f.GetFileInfo().Path))
		}
	}
	return names, nil
}
