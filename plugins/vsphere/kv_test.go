package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

func record(key, value string) *models.KeyValue {
	v := strfmt.Base64(value)
	return &models.KeyValue{Key: &key, Value: &v}
}

// datastoreDir is where the simulator keeps the backend's datastore on the local disk.
func datastoreDir(t *testing.T, b *Backend) string {
	t.Helper()
	var ds mo.Datastore
	if err := b.where.datastore.Properties(context.Background(), b.where.datastore.Reference(), []string{"summary"}, &ds); err != nil {
		t.Fatal(err)
	}
	return ds.Summary.Url
}

func TestKVRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())

	if _, err := b.GetValue(ctx, "missing"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("GetValue(missing): %v, want not found", err)
	}
	if err := b.DeleteValue(ctx, "missing"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("DeleteValue(missing): %v, want not found", err)
	}

	for i, value := range []string{"one", "two", "three"} {
		got, err := b.PutValue(ctx, record("image.tag:busybox", value))
		if err != nil {
			t.Fatal(err)
		}
		if got.Revision != int64(i+1) || string(*got.Value) != value {
			t.Fatalf("put %d: revision %d value %q", i, got.Revision, *got.Value)
		}
	}
	got, err := b.GetValue(ctx, "image.tag:busybox")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 3 || string(*got.Value) != "three" || *got.Key != "image.tag:busybox" {
		t.Fatalf("get: %+v", got)
	}

	// The record is a JSON file on the datastore, under the VCH's folder; no temporary file is left.
	dir := filepath.Join(datastoreDir(t, b), DefaultVCHName, "kv")
	data, err := os.ReadFile(filepath.Join(dir, "image.tag:busybox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk models.KeyValue
	if err := json.Unmarshal(data, &onDisk); err != nil || onDisk.Revision != 3 {
		t.Fatalf("file holds %s (%v)", data, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("kv folder holds %d files, want 1", len(entries))
	}

	if err := b.DeleteValue(ctx, "image.tag:busybox"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetValue(ctx, "image.tag:busybox"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("GetValue after delete: %v", err)
	}
}

func TestKVList(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())

	if list, err := b.ListValues(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("empty store lists %v, %v", list, err)
	}
	for _, k := range []string{"net.b", "net.a", "vol.x", "net.c", "network"} {
		if _, err := b.PutValue(ctx, record(k, "v-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"net.a", "net.b", "net.c", "network", "vol.x"}},
		{"net.", []string{"net.a", "net.b", "net.c"}},
		{"net", []string{"net.a", "net.b", "net.c", "network"}},
		{"vol.x", []string{"vol.x"}},
		{"zzz", nil},
		{"*", nil}, // a glob is not a prefix of any key
	}
	for _, tt := range tests {
		list, err := b.ListValues(ctx, tt.prefix)
		if err != nil {
			t.Fatalf("ListValues(%q): %v", tt.prefix, err)
		}
		var keys []string
		for _, kv := range list {
			keys = append(keys, *kv.Key)
			if string(*kv.Value) != "v-"+*kv.Key || kv.Revision != 1 {
				t.Errorf("record %s: value %q revision %d", *kv.Key, *kv.Value, kv.Revision)
			}
		}
		if strings.Join(keys, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ListValues(%q) = %v, want %v", tt.prefix, keys, tt.want)
		}
	}
}

func TestKVInvalidKeys(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	for _, key := range []string{"", "../escape", ".hidden", "a/b"} {
		if _, err := b.PutValue(ctx, record(key, "x")); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("PutValue(%q): %v, want invalid", key, err)
		}
		if _, err := b.GetValue(ctx, key); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("GetValue(%q): %v, want invalid", key, err)
		}
	}
}

// Two backends of the same VCH share the records: nothing is cached, and revisions continue.
func TestKVSharedBetweenEndpoints(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	a := newBackend(t, s.config())
	b := newBackend(t, s.config())
	if _, err := a.PutValue(ctx, record("k", "from a")); err != nil {
		t.Fatal(err)
	}
	got, err := b.PutValue(ctx, record("k", "from b"))
	if err != nil || got.Revision != 2 {
		t.Fatalf("second endpoint's put: %+v, %v", got, err)
	}
	if got, err := a.GetValue(ctx, "k"); err != nil || string(*got.Value) != "from b" {
		t.Fatalf("first endpoint reads %+v, %v", got, err)
	}
}

func TestKVEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	ch, err := b.Events(ctx, []string{EventTypeKV})
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Events(ctx, []string{"container"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutValue(ctx, record("k", "v")); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteValue(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"put", "delete"} {
		select {
		case ev := <-ch:
			if *ev.Type != EventTypeKV || *ev.Action != want || ev.ID != "k" || ev.Time == nil {
				t.Fatalf("event %+v, want kv %s k", ev, want)
			}
		case <-time.After(testWait):
			t.Fatalf("no %s event", want)
		}
	}
	select {
	case ev := <-other:
		t.Fatalf("container subscriber got %+v", ev)
	default:
	}
	cancel()
	for range ch { // closed after cancel
	}
}
