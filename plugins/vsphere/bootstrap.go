package vsphere

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// bootstrapSumSuffix names the file beside bootstrap.iso that records the size and SHA-256 of the copy on the
// datastore, so a restart does not upload the same ISO again.
const bootstrapSumSuffix = ".sha256"

// uploadBootstrapISO places cfg.BootstrapISO at "[ds] <vch>/bootstrap.iso" unless the copy there is the same.
// The record is removed before the upload and written after it, so an interrupted upload is redone.
func (b *Backend) uploadBootstrapISO(ctx context.Context) error {
	local := b.cfg.BootstrapISO
	if local == "" {
		return nil
	}
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("bootstrap ISO: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("bootstrap ISO: %w", errdefs.Classed(err, errdefs.ErrInvalid))
	}
	want := fmt.Sprintf("%s %d\n", hex.EncodeToString(h.Sum(nil)), size)

	rel := path.Join(b.cfg.VCHName, bootstrapISO)
	sum := rel + bootstrapSumSuffix
	have, err := b.readFile(ctx, sum, 256)
	switch {
	case err == nil && string(have) == want:
		b.log.Debug("the datastore's bootstrap ISO is current", "iso", b.where.datastore.Path(rel))
		return nil
	case err != nil && !isGone(err):
		return fmt.Errorf("bootstrap ISO: %w", err)
	}
	if err == nil {
		if err := b.deleteFile(ctx, sum); err != nil && !isGone(err) {
			return fmt.Errorf("bootstrap ISO: %w", err)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("bootstrap ISO: %w", errdefs.Classed(err, errdefs.ErrSystem))
	}
	upload := soap.DefaultUpload
	upload.ContentLength = size
	if err := b.where.datastore.Upload(ctx, f, rel, &upload); err != nil {
		return classify(err, "upload the bootstrap ISO to "+b.where.datastore.Path(rel))
	}
	if err := b.uploadFile(ctx, sum, []byte(want)); err != nil {
		return fmt.Errorf("bootstrap ISO: %w", err)
	}
	b.log.Info("uploaded the bootstrap ISO", "from", local, "to", b.where.datastore.Path(rel), "bytes", size)
	return nil
}
