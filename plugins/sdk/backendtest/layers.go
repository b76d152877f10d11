package backendtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/storage"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// testLayers writes a two-layer chain (the child whites out a file of the base), reads it back, checks the
// conflicts and the missing parent, and removes the chain child first.
func testLayers(t *testing.T, pl *client.Portlayer) {
	base, child := newID(), newID()
	baseTar := layerTar(t, map[string]string{"etc/os-release": "ID=conformance\n", "gone": "hidden by the child\n"})
	childTar := layerTar(t, map[string]string{".wh.gone": "", "new": "added by the child\n"})

	bl := writeLayer(t, pl, base, "", "none", baseTar)
	cl := writeLayer(t, pl, child, base, "gzip", gzipBytes(t, childTar))
	if *bl.ID != base || bl.Parent != "" || cl.Parent != base || *cl.Size != int64(len("added by the child\n")) {
		t.Errorf("written: base %+v, child %+v", bl, cl)
	}

	list, err := pl.Storage.ListLayers(storage.NewListLayersParamsWithContext(ctx(t)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]*models.LayerInfo{}
	for _, l := range list.Payload {
		seen[*l.ID] = l
	}
	if seen[base] == nil || seen[child] == nil {
		t.Fatalf("the list lacks the chain: %d layers", len(list.Payload))
	}
	for id, tarBytes := range map[string][]byte{base: baseTar, child: childTar} {
		got, err := pl.Storage.GetLayer(storage.NewGetLayerParamsWithContext(ctx(t)).WithID(id))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(tarBytes)
		if l := got.Payload; l.DiffID != "sha256:"+hex.EncodeToString(sum[:]) || l.DiffSize != int64(len(tarBytes)) {
			t.Errorf("layer %s: diffId %s diffSize %d", id, l.DiffID, l.DiffSize)
		}
		var back bytes.Buffer
		if _, err := pl.Storage.ReadLayerDiff(storage.NewReadLayerDiffParamsWithContext(ctx(t)).WithID(id), &back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.Bytes(), tarBytes) {
			t.Errorf("layer %s: the diff read back is %d bytes, not the %d written", id, back.Len(), len(tarBytes))
		}
	}

	_, err = pl.Storage.WriteLayer(writeParams(t, base, "", "none", baseTar))
	wantClass(t, err, http.StatusConflict, "conflict")
	_, err = pl.Storage.RemoveLayer(storage.NewRemoveLayerParamsWithContext(ctx(t)).WithID(base))
	wantClass(t, err, http.StatusConflict, "conflict")
	_, err = pl.Storage.WriteLayer(writeParams(t, newID(), newID(), "none", baseTar))
	wantClass(t, err, http.StatusNotFound, "not_found")

	for _, id := range []string{child, base} {
		if _, err := pl.Storage.RemoveLayer(storage.NewRemoveLayerParamsWithContext(ctx(t)).WithID(id)); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
	}
	_, err = pl.Storage.GetLayer(storage.NewGetLayerParamsWithContext(ctx(t)).WithID(base))
	wantClass(t, err, http.StatusNotFound, "not_found")
}

func writeLayer(t *testing.T, pl *client.Portlayer, id, parent, compression string, diff []byte) *models.LayerInfo {
	t.Helper()
	resp, err := pl.Storage.WriteLayer(writeParams(t, id, parent, compression, diff))
	if err != nil {
		t.Fatalf("write layer %s: %v", id, err)
	}
	return resp.Payload
}

func writeParams(t *testing.T, id, parent, compression string, diff []byte) *storage.WriteLayerParams {
	p := storage.NewWriteLayerParamsWithContext(ctx(t)).WithID(id).WithCompression(&compression).
		WithDiff(io.NopCloser(bytes.NewReader(diff)))
	if parent != "" {
		p = p.WithParent(&parent)
	}
	return p
}

// newID is a fresh 64-hex ID (a chain ID, a container ID), so reruns against the same store never collide.
func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

// layerTar is a diff holding files (sorted by name, with their parent directories).
func layerTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var entries []tarEntry
	dirs := map[string]bool{}
	for _, name := range sortedKeys(files) {
		for d := parentDir(name); d != "" && !dirs[d]; d = parentDir(d) {
			dirs[d] = true
			entries = append(entries, tarEntry{typ: tar.TypeDir, name: d + "/", mode: 0o755})
		}
		entries = append(entries, tarEntry{typ: tar.TypeReg, name: name, mode: 0o644, body: files[name]})
	}
	return tarOf(t, entries)
}

// tarEntry is one member of a layer diff: a directory, a regular file or a symbolic link.
type tarEntry struct {
	typ        byte
	name       string
	mode       int64
	body, link string
}

// tarOf writes entries, in order, as an uncompressed tar.
func tarOf(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now().Truncate(time.Second)
	for _, e := range entries {
		hdr := &tar.Header{Typeflag: e.typ, Name: e.name, Mode: e.mode, Linkname: e.link, ModTime: now,
			Size: int64(len(e.body))}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func parentDir(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i]
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
