package vsphere

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Datastore file operations for the image store, all through the vSphere APIs (FileManager, the datastore
// browser and the datastore's HTTP /folder endpoint). Paths are relative to the image-store datastore's root.

// mkdirAll creates the folder rel and its parents; an existing folder is fine.
func (b *Backend) mkdirAll(ctx context.Context, rel string) error {
	fm := object.NewFileManager(b.sess.client)
	err := fm.MakeDirectory(ctx, b.where.datastore.Path(rel), b.where.datacenter, true)
	if err == nil || errdefs.Is(classify(err, ""), errdefs.ErrConflict) {
		return nil
	}
	return classify(err, "create "+b.where.datastore.Path(rel))
}

// uploadFile writes data to the file rel, replacing it.
func (b *Backend) uploadFile(ctx context.Context, rel string, data []byte) error {
	upload := soap.DefaultUpload
	upload.ContentLength = int64(len(data))
	if err := b.where.datastore.Upload(ctx, bytes.NewReader(data), rel, &upload); err != nil {
		return classify(err, "upload "+b.where.datastore.Path(rel))
	}
	return nil
}

// openFile streams the file rel; a missing file is an errdefs.ErrNotFound error.
func (b *Backend) openFile(ctx context.Context, rel string) (io.ReadCloser, error) {
	ds := b.where.datastore
	u, ticket, err := ds.ServiceTicket(ctx, rel, http.MethodGet)
	if err != nil {
		return nil, classify(err, "read "+ds.Path(rel))
	}
	// DownloadRequest (unlike Download) leaves the status to us, so a missing file is told apart.
	res, err := b.sess.client.DownloadRequest(ctx, u, &soap.Download{Method: http.MethodGet, Ticket: ticket})
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
func (b *Backend) readFile(ctx context.Context, rel string, limit int64) ([]byte, error) {
	rc, err := b.openFile(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, classify(err, "read "+b.where.datastore.Path(rel))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", b.where.datastore.Path(rel), limit, errdefs.ErrSystem)
	}
	return data, nil
}

// move renames the file or folder from to to; an existing destination is an errdefs.ErrConflict error.
func (b *Backend) move(ctx context.Context, from, to string) error {
	ds, dc := b.where.datastore, b.where.datacenter
	fm := object.NewFileManager(b.sess.client)
	task, err := fm.MoveDatastoreFile(ctx, ds.Path(from), dc, ds.Path(to), dc, false)
	if err == nil {
		err = task.Wait(ctx)
	}
	return classify(err, "move "+ds.Path(from)+" to "+ds.Path(to))
}

// deleteFile removes the file or folder (with everything in it) rel.
func (b *Backend) deleteFile(ctx context.Context, rel string) error {
	fm := object.NewFileManager(b.sess.client)
	task, err := fm.DeleteDatastoreFile(ctx, b.where.datastore.Path(rel), b.where.datacenter)
	if err == nil {
		err = task.Wait(ctx)
	}
	return classify(err, "delete "+b.where.datastore.Path(rel))
}

// deleteDisk removes the virtual disk whose descriptor is rel, with its extents.
func (b *Backend) deleteDisk(ctx context.Context, rel string) error {
	vdm := object.NewVirtualDiskManager(b.sess.client)
	task, err := vdm.DeleteVirtualDisk(ctx, b.where.datastore.Path(rel), b.where.datacenter)
	if err == nil {
		err = task.Wait(ctx)
	}
	return classify(err, "delete disk "+b.where.datastore.Path(rel))
}

// subfolders lists the names of the folders in rel; a missing folder has none.
func (b *Backend) subfolders(ctx context.Context, rel string) ([]string, error) {
	ds := b.where.datastore
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
	info, err := task.WaitForResult(ctx, nil)
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
