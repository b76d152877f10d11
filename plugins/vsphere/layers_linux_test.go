package vsphere

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// layerStore is a backend on a fresh simulator with the local paths of its image store.
type layerStore struct {
	b      *Backend
	s      *sim
	dsDir  string // the datastore's local directory
	images string // the image store's local directory
}

func newLayerStore(t *testing.T) *layerStore {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("unpacking layers (owners, devices, trusted xattrs) needs root")
	}
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	ds := datastoreDir(t, b)
	return &layerStore{b: b, s: s, dsDir: ds, images: filepath.Join(ds, filepath.FromSlash(ImagesFolder(DefaultVCHName)))}
}

// descriptor is the local path of a layer's descriptor.
func (ls *layerStore) descriptor(id string) string {
	return filepath.Join(ls.dsDir, filepath.FromSlash(LayerDescriptor(DefaultVCHName, id)))
}

func (ls *layerStore) write(t *testing.T, id, parent, compression string, data []byte) *models.LayerInfo {
	t.Helper()
	l, err := ls.b.WriteLayer(context.Background(), id, parent, compression, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("WriteLayer %s: %v", id, err)
	}
	return l
}

// folders is what the image store's folder holds (scratch included).
func (ls *layerStore) folders(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(ls.images); os.IsNotExist(err) {
		return nil
	}
	return dirNames(t, ls.images)
}

func readDesc(t *testing.T, p string) *Descriptor {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ReadDescriptor(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLayerChain(t *testing.T) {
	ctx := context.Background()
	ls := newLayerStore(t)
	base, child := randomID(), randomID()
	baseTar, childTar := buildTar(t, baseEntries()...), buildTar(t, childEntries()...)
	childGz := gzipped(t, childTar)

	bl := ls.write(t, base, "", "none", baseTar)
	cl := ls.write(t, child, base, "gzip", childGz)

	// The records say what was written.
	for _, tt := range []struct {
		l       *models.LayerInfo
		id, par string
		tar     []byte
		size    int64
	}{{bl, base, "", baseTar, regularBytes(baseEntries())}, {cl, child, base, childTar, regularBytes(childEntries())}} {
		sum := sha256.Sum256(tt.tar)
		want := models.LayerInfo{ID: &tt.id, Parent: tt.par, Size: &tt.size, DiffSize: int64(len(tt.tar)),
			DiffID: "sha256:" + hex.EncodeToString(sum[:]), Disk: "[LocalDS_0] " + LayerDescriptor(DefaultVCHName, tt.id),
			Created: tt.l.Created}
		got, err := ls.b.GetLayer(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(*got.ID, got.Parent, *got.Size, got.DiffSize, got.DiffID, got.Disk) !=
			fmt.Sprint(*want.ID, want.Parent, *want.Size, want.DiffSize, want.DiffID, want.Disk) || got.Created == 0 {
			t.Errorf("layer %s: got %+v, want %+v", tt.id, got, want)
		}
		// The diff comes back byte for byte, uncompressed.
		rc, err := ls.b.ReadLayerDiff(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(back, tt.tar) {
			t.Errorf("layer %s diff: %d bytes back of %d (%v)", tt.id, len(back), len(tt.tar), err)
		}
	}
	// The diffs are kept as indexes into the unpacked files (TestLayerDiffIndex), not as copies of the streams.
	for _, id := range []string{base, child} {
		if _, err := os.Stat(filepath.Join(ls.images, id, diffIndexFile)); err != nil {
			t.Fatalf("layer %s: %v", id, err)
		}
		for _, kept := range []string{"diff.tar", "diff.tar.gz"} {
			if _, err := os.Stat(filepath.Join(ls.images, id, kept)); !os.IsNotExist(err) {
				t.Errorf("layer %s keeps %s", id, kept)
			}
		}
	}

	// The contents are overlayfs layers.
	checkBaseRootfs(t, DiskDataDir(ls.descriptor(base)))
	checkChildRootfs(t, DiskDataDir(ls.descriptor(child)))

	// The disks form a chain: child -> base -> scratch.
	scratch := readDesc(t, ls.descriptor(ScratchID))
	bd, cd := readDesc(t, ls.descriptor(base)), readDesc(t, ls.descriptor(child))
	if scratch.ParentCID != NoParentCID || scratch.ParentFileNameHint != "" {
		t.Errorf("scratch has a parent: %+v", scratch)
	}
	if bd.ParentFileNameHint != "../scratch/scratch.vmdk" || bd.ParentCID != scratch.CID {
		t.Errorf("base descriptor: hint %q parentCID %08x, scratch CID %08x", bd.ParentFileNameHint, bd.ParentCID, scratch.CID)
	}
	if cd.ParentFileNameHint != "../"+base+"/"+base+".vmdk" || cd.ParentCID != bd.CID || cd.CID == bd.CID {
		t.Errorf("child descriptor: hint %q parentCID %08x, base CID %08x", cd.ParentFileNameHint, cd.ParentCID, bd.CID)
	}
	if len(cd.Extents) != 1 || cd.CreateType == "" || cd.DDB["adapterType"] == "" {
		t.Errorf("child descriptor incomplete: %+v", cd)
	}
	lower, err := LowerDirs(ls.descriptor(child))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{DiskDataDir(ls.descriptor(child)), DiskDataDir(ls.descriptor(base)), DiskDataDir(ls.descriptor(ScratchID))}
	if strings.Join(lower, ":") != strings.Join(want, ":") {
		t.Errorf("LowerDirs = %v, want %v", lower, want)
	}

	// A second endpoint (no cache) sees the same store.
	other := newBackend(t, ls.s.config())
	list, err := other.ListLayers(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListLayers: %d layers, %v", len(list), err)
	}

	// Conflicts and bad requests.
	if _, err := ls.b.WriteLayer(ctx, base, "", "none", bytes.NewReader(baseTar)); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("rewrite: %v, want conflict", err)
	}
	if _, err := ls.b.WriteLayer(ctx, randomID(), randomID(), "none", bytes.NewReader(baseTar)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing parent: %v, want not found", err)
	}
	for _, c := range []struct{ id, parent, compression string }{
		{randomID(), "", "zstd"}, {"not-an-id", "", "none"}, {randomID(), "../x", "none"}, {strings.ToUpper(randomID()), "", "none"},
	} {
		if _, err := ls.b.WriteLayer(ctx, c.id, c.parent, c.compression, bytes.NewReader(baseTar)); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("WriteLayer(%q, %q, %q): %v, want invalid", c.id, c.parent, c.compression, err)
		}
	}

	// Removal goes child first.
	if err := ls.b.RemoveLayer(ctx, base); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), child) {
		t.Fatalf("remove the parent: %v, want a conflict naming %s", err, child)
	}
	for _, id := range []string{child, base} {
		if err := ls.b.RemoveLayer(ctx, id); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
		if _, err := ls.b.GetLayer(ctx, id); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("GetLayer after remove: %v", err)
		}
	}
	if err := ls.b.RemoveLayer(ctx, base); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	if got := ls.folders(t); len(got) != 1 || got[0] != ScratchID {
		t.Errorf("image store holds %v after removing everything", got)
	}
	if list, err := other.ListLayers(ctx); err != nil || len(list) != 0 {
		t.Errorf("the other endpoint still lists %d layers (%v)", len(list), err)
	}
}

// failingReader returns its data, then err instead of EOF.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestLayerWriteFailuresLeaveNothing(t *testing.T) {
	ls := newLayerStore(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := buildTar(t, file("big", 0o644, strings.Repeat("x", 1<<20)), file("after", 0o644, "x"))
	cancelled, cancel := context.WithCancel(context.Background())
	type tc struct {
		ctx         context.Context
		compression string
		diff        io.Reader
		class       error
	}
	cases := map[string]tc{
		"broken stream": {context.Background(), "none",
			&failingReader{bytes.NewReader(big[:len(big)/2]), errors.New("connection reset")}, errdefs.ErrInvalid},
		"cancelled": {cancelled, "none", &cancellingReader{r: bytes.NewReader(big), cancel: cancel}, errdefs.ErrCanceled},
		"garbage":   {context.Background(), "none", bytes.NewReader(bytes.Repeat([]byte("garbage!"), 256)), errdefs.ErrInvalid},
		"not gzip":  {context.Background(), "gzip", bytes.NewReader(big), errdefs.ErrInvalid},
	}
	for name, entries := range escapeCases(outside) {
		cases["escape: "+name] = tc{context.Background(), "none", bytes.NewReader(buildTar(t, entries...)), errdefs.ErrInvalid}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ls.b.WriteLayer(c.ctx, randomID(), "", c.compression, c.diff)
			if errdefs.Sentinel(err) != c.class {
				t.Fatalf("got %v, want %v", err, c.class)
			}
			// The scratch disk is made once a diff is unpacked; a failed write leaves at most that.
			if got := slices.DeleteFunc(ls.folders(t), func(n string) bool { return n == ScratchID }); len(got) != 0 {
				t.Errorf("image store holds %v", got)
			}
			if list, err := ls.b.ListLayers(context.Background()); err != nil || len(list) != 0 {
				t.Errorf("lists %d layers (%v)", len(list), err)
			}
			if names := dirNames(t, outside); len(names) != 1 {
				t.Errorf("outside holds %v", names)
			}
			if _, err := os.Lstat(filepath.Join(ls.dsDir, "VIC", DefaultVCHName, "evil")); !os.IsNotExist(err) {
				t.Error("a file was written outside the layer")
			}
		})
	}
}

// cancellingReader cancels its context half-way through.
type cancellingReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.n += len(p); c.n > 256<<10 {
		c.cancel()
	}
	return c.r.Read(p)
}

func TestLayerConcurrentWritesOneWins(t *testing.T) {
	ls := newLayerStore(t)
	id, data := randomID(), buildTar(t, baseEntries()...)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = ls.b.WriteLayer(context.Background(), id, "", "none", bytes.NewReader(data))
		})
	}
	wg.Wait()
	var won int
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errdefs.ErrConflict):
			t.Errorf("a losing write: %v, want conflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d writes won: %v", won, errs)
	}
	if got := ls.folders(t); len(got) != 2 {
		t.Errorf("image store holds %v", got)
	}
}

func TestLayerStaleWritesAreSwept(t *testing.T) {
	ls := newLayerStore(t)
	id := randomID()
	ls.write(t, id, "", "none", buildTar(t, file("a", 0o644, "a")))
	// A crash mid-write leaves a temporary folder (with a disk and a record) behind.
	stale := filepath.Join(ls.images, tmpPrefix+randomID()+"-dead")
	if err := os.MkdirAll(filepath.Join(stale, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, layerRecord), []byte(`{"id":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	restarted := newBackend(t, ls.s.config())
	list, err := restarted.ListLayers(context.Background())
	if err != nil || len(list) != 1 || *list[0].ID != id {
		t.Fatalf("ListLayers: %v, %v", list, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale folder still there: %v", err)
	}
}

// TestLayerChildWrittenWithItsParent writes a child while its parent is still being written: the child is
// unpacked at once and committed once its parent is; a child whose parent's write fails is not written.
func TestLayerChildWrittenWithItsParent(t *testing.T) {
	ctx := context.Background()
	ls := newLayerStore(t)
	for _, parentFails := range []bool{false, true} {
		base, child := randomID(), randomID()
		baseTar := buildTar(t, baseEntries()...)
		pr, pw := io.Pipe()
		parentErr := make(chan error, 1)
		go func() {
			_, err := ls.b.WriteLayer(ctx, base, "", "none", pr)
			parentErr <- err
		}()
		// Once the parent's write reads its stream, it is under way.
		if _, err := pw.Write(baseTar[:512]); err != nil {
			t.Fatal(err)
		}
		childErr := make(chan error, 1)
		go func() {
			_, err := ls.b.WriteLayer(ctx, child, base, "gzip", bytes.NewReader(gzipped(t, buildTar(t, childEntries()...))))
			childErr <- err
		}()
		select {
		case err := <-childErr:
			t.Fatalf("the child's write ended before its parent's: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		if parentFails {
			pw.CloseWithError(errors.New("connection reset"))
		} else {
			if _, err := pw.Write(baseTar[512:]); err != nil {
				t.Fatal(err)
			}
			pw.Close()
		}
		perr, cerr := <-parentErr, <-childErr
		if parentFails {
			if perr == nil || !errors.Is(cerr, errdefs.ErrNotFound) {
				t.Errorf("parent failing: parent %v, child %v (want not found)", perr, cerr)
			}
			if list, err := ls.b.ListLayers(ctx); err != nil || len(list) != 0 {
				t.Errorf("%d layers listed (%v)", len(list), err)
			}
			continue
		}
		if perr != nil || cerr != nil {
			t.Fatalf("parent %v, child %v", perr, cerr)
		}
		bd, cd := readDesc(t, ls.descriptor(base)), readDesc(t, ls.descriptor(child))
		if cd.ParentCID != bd.CID || cd.ParentFileNameHint != "../"+base+"/"+base+".vmdk" {
			t.Errorf("child descriptor: parentCID %08x hint %q, base CID %08x", cd.ParentCID, cd.ParentFileNameHint, bd.CID)
		}
		checkChildRootfs(t, DiskDataDir(ls.descriptor(child)))
		for _, id := range []string{child, base} {
			if err := ls.b.RemoveLayer(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
}
