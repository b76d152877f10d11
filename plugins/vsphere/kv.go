package vsphere

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-openapi/strfmt"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/events"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// The KV store keeps one JSON file per key in "[datastore] <vch>/kv/<key>.json". It caches nothing, so another
// endpoint writing the same folder is always seen. A key's revision grows with every write; deleting a key
// forgets it, so a key written again after a delete starts over at revision 1.

// keyPattern is the port layer's key syntax; checking it here too keeps a key from ever naming a path.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

const (
	kvFolder = "kv"
	kvSuffix = ".json"
	// maxRecordBytes bounds a record file: the spec's 1398102 base64 characters plus JSON framing.
	maxRecordBytes = 2 << 20
)

// EventTypeKV is the type of the events the KV store publishes; their action is "put" or "delete".
const EventTypeKV = "kv"

func (b *Backend) kvDir() string { return path.Join(b.cfg.VCHName, kvFolder) }

func (b *Backend) kvFile(key string) string { return path.Join(b.kvDir(), key+kvSuffix) }

// ensureKVFolder creates the KV folder (and the VCH folder above it) on the datastore when missing.
func (b *Backend) ensureKVFolder(ctx context.Context) error {
	fm := object.NewFileManager(b.sess.client)
	err := fm.MakeDirectory(ctx, b.where.datastore.Path(b.kvDir()), b.where.datacenter, true)
	if err == nil || errdefs.Is(classify(err, ""), errdefs.ErrConflict) { // it already exists
		return nil
	}
	return classify(err, "create "+b.where.datastore.Path(b.kvDir()))
}

// GetValue reads one record; a missing key is an errdefs.ErrNotFound error.
func (b *Backend) GetValue(ctx context.Context, key string) (*models.KeyValue, error) {
	if !keyPattern.MatchString(key) {
		return nil, fmt.Errorf("key %q: %w", key, errdefs.ErrInvalid)
	}
	return b.readRecord(ctx, key)
}

func (b *Backend) readRecord(ctx context.Context, key string) (*models.KeyValue, error) {
	ds := b.where.datastore
	file := b.kvFile(key)
	u, ticket, err := ds.ServiceTicket(ctx, file, http.MethodGet)
	if err != nil {
		return nil, classify(err, "key "+key)
	}
	// DownloadRequest (unlike Download) leaves the status to us, so a missing file is told apart.
	res, err := b.sess.client.DownloadRequest(ctx, u, &soap.Download{Method: http.MethodGet, Ticket: ticket})
	if err != nil {
		return nil, classify(err, "key "+key)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("key %s: read %s: %s: %w", key, ds.Path(file), res.Status, httpStatusClass(res.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxRecordBytes+1))
	if err != nil {
		return nil, classify(err, "key "+key)
	}
	if len(data) > maxRecordBytes {
		return nil, fmt.Errorf("key %s: record file larger than %d bytes: %w", key, maxRecordBytes, errdefs.ErrSystem)
	}
	var kv models.KeyValue
	if err := json.Unmarshal(data, &kv); err != nil {
		return nil, fmt.Errorf("key %s: decode %s: %v: %w", key, ds.Path(file), err, errdefs.ErrSystem)
	}
	if kv.Key == nil || *kv.Key != key {
		return nil, fmt.Errorf("key %s: %s holds another key: %w", key, ds.Path(file), errdefs.ErrSystem)
	}
	return &kv, nil
}

// PutValue writes a record atomically: the new file is uploaded under a temporary name and then moved over
// the old one, so a reader sees either the old or the new record, never part of one.
func (b *Backend) PutValue(ctx context.Context, kv *models.KeyValue) (*models.KeyValue, error) {
	if kv == nil || kv.Key == nil || !keyPattern.MatchString(*kv.Key) {
		return nil, fmt.Errorf("record without a valid key: %w", errdefs.ErrInvalid)
	}
	key := *kv.Key
	b.kvMu.Lock()
	defer b.kvMu.Unlock()

	var revision int64
	switch old, err := b.readRecord(ctx, key); {
	case err == nil:
		revision = old.Revision
	case !errdefs.Is(err, errdefs.ErrNotFound):
		return nil, err
	}
	value := strfmt.Base64{}
	if kv.Value != nil {
		value = append(value, *kv.Value...)
	}
	rec := &models.KeyValue{Key: &key, Value: &value, Revision: revision + 1}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("key %s: encode: %v: %w", key, err, errdefs.ErrInvalid)
	}

	ds, dc := b.where.datastore, b.where.datacenter
	tmp := path.Join(b.kvDir(), "."+key+"."+randomSuffix()+".tmp")
	upload := soap.DefaultUpload
	upload.ContentLength = int64(len(data))
	if err := ds.Upload(ctx, bytes.NewReader(data), tmp, &upload); err != nil {
		return nil, classify(err, "key "+key+": upload "+ds.Path(tmp))
	}
	fm := object.NewFileManager(b.sess.client)
	task, err := fm.MoveDatastoreFile(ctx, ds.Path(tmp), dc, ds.Path(b.kvFile(key)), dc, true)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	if err != nil {
		b.removeQuietly(context.WithoutCancel(ctx), tmp)
		return nil, classify(err, "key "+key+": replace "+ds.Path(b.kvFile(key)))
	}
	b.bus.Publish(events.New(EventTypeKV, "put", key,
		map[string]string{"revision": strconv.FormatInt(rec.Revision, 10)}))
	return rec, nil
}

// DeleteValue removes a record; a missing key is an errdefs.ErrNotFound error.
func (b *Backend) DeleteValue(ctx context.Context, key string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("key %q: %w", key, errdefs.ErrInvalid)
	}
	b.kvMu.Lock()
	defer b.kvMu.Unlock()
	fm := object.NewFileManager(b.sess.client)
	file := b.where.datastore.Path(b.kvFile(key))
	task, err := fm.DeleteDatastoreFile(ctx, file, b.where.datacenter)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	if err != nil {
		return classify(err, "key "+key+": delete "+file)
	}
	b.bus.Publish(events.New(EventTypeKV, "delete", key, nil))
	return nil
}

// ListValues returns the records whose keys start with prefix, ordered by key. It browses the folder, then
// reads each record; a record deleted in between is left out.
func (b *Backend) ListValues(ctx context.Context, prefix string) ([]*models.KeyValue, error) {
	if prefix != "" && !keyPattern.MatchString("x"+prefix) {
		return []*models.KeyValue{}, nil // no key can start with it; it could also be a glob
	}
	keys, err := b.listKeys(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]*models.KeyValue, 0, len(keys))
	for _, key := range keys {
		kv, err := b.readRecord(ctx, key)
		if errdefs.Is(err, errdefs.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, nil
}

func (b *Backend) listKeys(ctx context.Context, prefix string) ([]string, error) {
	ds := b.where.datastore
	browser, err := ds.Browser(ctx)
	if err != nil {
		return nil, classify(err, "datastore browser of "+ds.Name())
	}
	spec := types.HostDatastoreBrowserSearchSpec{
		MatchPattern: []string{prefix + "*" + kvSuffix},
		Details:      &types.FileQueryFlags{FileType: true},
	}
	dir := ds.Path(b.kvDir())
	task, err := browser.SearchDatastore(ctx, dir, &spec)
	if err != nil {
		return nil, classify(err, "browse "+dir)
	}
	info, err := vtask.Wait(ctx, task)
	if err != nil {
		if errdefs.Is(classify(err, ""), errdefs.ErrNotFound) {
			return nil, nil // no folder, no records
		}
		return nil, classify(err, "browse "+dir)
	}
	res, ok := info.Result.(types.HostDatastoreBrowserSearchResults)
	if !ok {
		return nil, fmt.Errorf("browse %s: unexpected result %T: %w", dir, info.Result, errdefs.ErrSystem)
	}
	var keys []string
	for _, f := range res.File {
		if _, isDir := f.(*types.FolderFileInfo); isDir {
			continue
		}
		name := path.Base(f.GetFileInfo().Path)
		key, ok := strings.CutSuffix(name, kvSuffix)
		if ok && strings.HasPrefix(key, prefix) && keyPattern.MatchString(key) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// removeQuietly deletes a leftover temporary file; failing to is only worth a log line.
func (b *Backend) removeQuietly(ctx context.Context, file string) {
	fm := object.NewFileManager(b.sess.client)
	task, err := fm.DeleteDatastoreFile(ctx, b.where.datastore.Path(file), b.where.datacenter)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	if err != nil {
		b.log.Warn("could not remove a temporary KV file", "file", file, "err", err)
	}
}

func randomSuffix() string {
	var buf [8]byte
	_, _ = rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}
