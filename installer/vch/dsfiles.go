package vch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/progress"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// dsFiles works on the files of one datastore, with paths relative to its root.
type dsFiles struct {
	dc *object.Datacenter
	ds *object.Datastore
	fm *object.FileManager
}

func (s *Session) files(dc *object.Datacenter, ds *object.Datastore) *dsFiles {
	return &dsFiles{dc: dc, ds: ds, fm: object.NewFileManager(s.Client)}
}

// path is "[datastore] rel".
func (f *dsFiles) path(rel string) string { return f.ds.Path(rel) }

// exists reports whether a file or folder exists.
func (f *dsFiles) exists(ctx context.Context, rel string) (bool, error) {
	_, err := f.ds.Stat(ctx, rel)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("look for %s: %w", f.path(rel), err)
}

// mkdir creates a folder and its parents.
func (f *dsFiles) mkdir(ctx context.Context, rel string) error {
	if err := f.fm.MakeDirectory(ctx, f.path(rel), f.dc, true); err != nil {
		return fmt.Errorf("create folder %s: %w", f.path(rel), err)
	}
	return nil
}

// mkdirAll creates a folder and its missing parents and returns the topmost folder it created, which
// removes everything it made.
func (f *dsFiles) mkdirAll(ctx context.Context, rel string) (string, error) {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	top := ""
	for i := range parts {
		p := path.Join(parts[:i+1]...)
		ok, err := f.exists(ctx, p)
		if err != nil {
			return "", err
		}
		if !ok {
			top = p
			break
		}
	}
	if top == "" {
		return "", nil // it exists already
	}
	return top, f.mkdir(ctx, rel)
}

// remove deletes a file or a folder with everything in it; a missing one is not an error.
func (f *dsFiles) remove(ctx context.Context, rel string) error {
	task, err := f.fm.DeleteDatastoreFile(ctx, f.path(rel), f.dc)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s: %w", f.path(rel), err)
	}
	return nil
}

// copy copies a file on the datastore, replacing dst.
func (f *dsFiles) copy(ctx context.Context, src, dst string) error {
	task, err := f.fm.CopyDatastoreFile(ctx, f.path(src), f.dc, f.path(dst), f.dc, true)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", f.path(src), f.path(dst), err)
	}
	return nil
}

// list names the entries of a folder (nil when it does not exist).
func (f *dsFiles) list(ctx context.Context, rel string) ([]string, error) {
	b, err := f.ds.Browser(ctx)
	if err != nil {
		return nil, err
	}
	task, err := b.SearchDatastore(ctx, f.path(rel), &types.HostDatastoreBrowserSearchSpec{MatchPattern: []string{"*"}})
	if err != nil {
		return nil, err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", f.path(rel), err)
	}
	res, _ := info.Result.(types.HostDatastoreBrowserSearchResults)
	var out []string
	for _, fi := range res.File {
		out = append(out, fi.GetFileInfo().Path)
	}
	sort.Strings(out)
	return out, nil
}

// download reads a (small) file.
func (f *dsFiles) download(ctx context.Context, rel string) ([]byte, error) {
	rc, _, err := f.ds.Download(ctx, rel, &soap.DefaultDownload)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", f.path(rel), err)
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// uploadBytes writes a small file.
func (f *dsFiles) uploadBytes(ctx context.Context, data []byte, rel string) error {
	p := soap.DefaultUpload
	p.ContentLength = int64(len(data))
	if err := f.ds.Upload(ctx, bytes.NewReader(data), rel, &p); err != nil {
		return fmt.Errorf("upload %s: %w", f.path(rel), err)
	}
	return nil
}

// upload copies a local file to rel, logging its progress.
func (f *dsFiles) upload(ctx context.Context, local, rel string, log Progress) error {
	st, err := os.Stat(local)
	if err != nil {
		return err
	}
	log.Infof("\t%q", filepath.Base(local))
	sink := newUploadProgress(log, path.Base(rel), st.Size())
	p := soap.DefaultUpload
	p.Progress = sink
	err = f.ds.UploadFile(ctx, local, rel, &p)
	sink.wait(ctx)
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", local, f.path(rel), err)
	}
	return nil
}

// uploadProgress logs an upload's progress every quarter.
type uploadProgress struct {
	mu   sync.Mutex
	used bool
	log  Progress
	name string
	size int64
	ch   chan progress.Report
	done chan struct{}
}

func newUploadProgress(log Progress, name string, size int64) *uploadProgress {
	u := &uploadProgress{log: log, name: name, size: size, ch: make(chan progress.Report), done: make(chan struct{})}
	go u.run()
	return u
}

// Sink is called once per upload; the uploader closes the channel when it is done.
func (u *uploadProgress) Sink() chan<- progress.Report {
	u.mu.Lock()
	u.used = true
	u.mu.Unlock()
	return u.ch
}

func (u *uploadProgress) run() {
	defer close(u.done)
	next := float32(25)
	for r := range u.ch {
		if r.Error() != nil {
			continue
		}
		for pct := r.Percentage(); pct >= next && next <= 100; next += 25 {
			u.log.Infof("\t\t%s: %3.0f%% of %s", u.name, next, humanBytes(u.size))
		}
	}
}

// wait returns once the uploader closed the sink; an upload that never opened it (it failed first) leaves
// it to us to close. A cancelled upload may never close it: then ctx ends the wait.
func (u *uploadProgress) wait(ctx context.Context) {
	u.mu.Lock()
	used := u.used
	u.mu.Unlock()
	if !used {
		close(u.ch)
	}
	select {
	case <-u.done:
	case <-ctx.Done():
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
