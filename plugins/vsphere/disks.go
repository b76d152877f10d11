package vsphere

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
)

// layerDiskCapacityKB is a layer disk's capacity: VIC's --base-image-size default of 8 GB. Disks are thin,
// so the capacity costs nothing until written.
const layerDiskCapacityKB = 8 << 20

// createDisk makes the thin disk rel (a descriptor path) as a child of parent, whose descriptor is
// parentHint relative to rel's folder (nil, "" for a root disk), the way the image store's disks are made
// (diskData), and returns its descriptor.
func (b *Backend) createDisk(ctx context.Context, rel string, parent *Descriptor, parentHint string) (*Descriptor, error) {
	data, err := b.prepareLayers(ctx)
	if err != nil {
		return nil, err
	}
	parentRel := ""
	if parent != nil && parentHint != "" {
		parentRel = path.Clean(path.Join(path.Dir(rel), parentHint))
	}
	return data.createDisk(ctx, rel, parent, parentRel)
}

// makeDisk has the VirtualDiskManager make the thin disk rel and returns the descriptor it wrote;
// describeDisk then makes the descriptor ours.
func (b *Backend) makeDisk(ctx context.Context, rel string) (*Descriptor, error) {
	if err := b.createVirtualDisk(ctx, rel); err != nil {
		return nil, err
	}
	return b.readDescriptor(ctx, rel)
}

// createVirtualDisk has the VirtualDiskManager make the thin disk rel.
func (b *Backend) createVirtualDisk(ctx context.Context, rel string) error {
	ds, dc := b.where.datastore, b.where.datacenter
	spec := &types.FileBackedVirtualDiskSpec{
		VirtualDiskSpec: types.VirtualDiskSpec{
			DiskType:    string(types.VirtualDiskTypeThin),
			AdapterType: string(types.VirtualDiskAdapterTypeLsiLogic),
		},
		CapacityKb: layerDiskCapacityKB,
	}
	vdm := object.NewVirtualDiskManager(b.sess.client)
	task, err := vdm.CreateVirtualDisk(ctx, ds.Path(rel), dc, spec)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	if err != nil {
		return classify(err, "create disk "+ds.Path(rel))
	}
	return nil
}

// describeDisk rewrites the descriptor of the disk rel, which makeDisk made (made is what it read back), to
// name parent, whose descriptor is parentHint relative to rel's folder (nil, "" for a root disk).
func (b *Backend) describeDisk(ctx context.Context, rel string, made *Descriptor, parent *Descriptor, parentHint string) (*Descriptor, error) {
	d, raw, err := ourDescriptor(made, parent, parentHint)
	if err != nil {
		return nil, err
	}
	if err := b.uploadFile(ctx, rel, raw); err != nil {
		return nil, err
	}
	return d, nil
}

// ourDescriptor is the descriptor describeDisk writes in place of made, and its text.
func ourDescriptor(made *Descriptor, parent *Descriptor, parentHint string) (*Descriptor, []byte, error) {
	// Keep the extents vSphere made (their files exist, and DeleteVirtualDisk removes them); the rest of the
	// descriptor is ours, so the chain does not depend on what the target filled in.
	d := &Descriptor{
		Version:    1,
		Encoding:   "UTF-8",
		CID:        newCID(),
		ParentCID:  NoParentCID,
		CreateType: made.CreateType,
		Extents:    made.Extents,
		DDB:        made.DDB,
	}
	if d.CreateType == "" {
		d.CreateType = "vmfs"
	}
	if parent != nil {
		d.ParentCID = parent.CID
		d.ParentFileNameHint = parentHint
	}
	uuid := make([]byte, 16)
	_, _ = rand.Read(uuid)
	d.DDB["adapterType"] = "lsilogic"
	d.DDB["thinProvisioned"] = "1"
	d.DDB["virtualHWVersion"] = "14"
	d.DDB["deletable"] = "true"
	d.DDB["uuid"] = ddbUUID(uuid)
	d.DDB["longContentID"] = hex.EncodeToString(uuid)
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		return nil, nil, fmt.Errorf("encode descriptor: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	return d, buf.Bytes(), nil
}

// readDescriptor downloads and parses the descriptor rel.
func (b *Backend) readDescriptor(ctx context.Context, rel string) (*Descriptor, error) {
	data, err := b.readFile(ctx, rel, maxDescriptorBytes)
	if err != nil {
		return nil, err
	}
	d, err := ReadDescriptor(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.where.datastore.Path(rel), errdefs.Classed(err, errdefs.ErrSystem))
	}
	return d, nil
}

// newCID is a random content ID that is not the "no parent" marker.
func newCID() uint32 {
	for {
		var buf [4]byte
		_, _ = rand.Read(buf[:])
		if cid := binary.BigEndian.Uint32(buf[:]); cid != 0 && cid != NoParentCID {
			return cid
		}
	}
}

// ddbUUID formats 16 bytes as a descriptor's ddb.uuid: "60 00 c2 9b 5c 1e 3f 8d-2c 7a 4e 6f 1a 2b 3c 4d".
func ddbUUID(u []byte) string {
	var b []byte
	for i, c := range u {
		switch {
		case i == 8:
			b = append(b, '-')
		case i > 0:
			b = append(b, ' ')
		}
		b = append(b, hex.EncodeToString([]byte{c})...)
	}
	return string(b)
}

// ensureScratch returns the store's scratch disk, creating it (empty, formatted) on first use. It is made in
// a temporary folder and renamed into place, so it is either complete or absent.
func (b *Backend) ensureScratch(ctx context.Context, data diskData) (*Descriptor, error) {
	s := &b.layers
	s.scratchMu.Lock() // one creation per process; another endpoint racing us is handled at the rename
	defer s.scratchMu.Unlock()
	if s.scratch != nil {
		return s.scratch, nil
	}
	rel := LayerDescriptor(b.cfg.VCHName, ScratchID)
	d, err := b.readDescriptor(ctx, rel)
	if err == nil {
		s.scratch = d
	}
	if !errdefs.Is(err, errdefs.ErrNotFound) {
		return d, err
	}
	images := ImagesFolder(b.cfg.VCHName)
	tmp := path.Join(images, tmpPrefix+ScratchID+"-"+randomSuffix())
	if err := b.mkdirAll(ctx, tmp); err != nil {
		return nil, err
	}
	tmpDesc := path.Join(tmp, ScratchID+".vmdk")
	d, err = data.createDisk(ctx, tmpDesc, nil, "")
	if err == nil {
		err = data.format(ctx, b.where.datastore.Path(tmpDesc))
	}
	if err == nil {
		err = b.move(ctx, tmp, path.Join(images, ScratchID))
	}
	if err != nil {
		b.removeFolderQuietly(context.WithoutCancel(ctx), tmp)
		// Another endpoint may have made it first (the rename then fails): use theirs.
		if theirs, rerr := b.readDescriptor(ctx, rel); rerr == nil {
			s.scratch = theirs
			return theirs, nil
		}
		return nil, fmt.Errorf("create the scratch disk: %w", err)
	}
	b.log.Info("created the image store's scratch disk", "disk", b.where.datastore.Path(rel))
	s.scratch = d
	return d, nil
}

// removeFolderQuietly deletes a temporary folder; failing to is only worth a log line, since the next start
// sweeps it.
func (b *Backend) removeFolderQuietly(ctx context.Context, rel string) {
	if err := b.deleteFile(ctx, rel); err != nil && !errdefs.Is(err, errdefs.ErrNotFound) {
		b.log.Warn("could not remove a temporary image store folder", "folder", rel, "err", err)
	}
}
