package iso

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// Paths inside bootstrap.iso.
const (
	TetherPath  = "/tether"
	VersionPath = "/VERSION"
)

const (
	blockSize = 2048
	volumeID  = "VICE-BOOTSTRAP"
)

type options struct{ version string }

// Option adjusts BuildBootstrap.
type Option func(*options)

// WithVersion sets the contents of /VERSION (default "dev").
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// BuildBootstrap writes bootstrap.iso to outPath with the tether binary at tetherPath as /tether (mode
// 0755). The image is assembled in a scratch directory and renamed into place, so outPath is never left
// half-written.
func BuildBootstrap(ctx context.Context, tetherPath, outPath string, opts ...Option) error {
	o := options{version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	work, err := os.MkdirTemp("", "vice-iso")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// go-diskfs builds the image from a workspace directory whose files and modes it copies as they are.
	if err := copyFile(tetherPath, filepath.Join(work, "tether"), 0o755); err != nil {
		return fmt.Errorf("bootstrap iso: %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, "VERSION"), []byte(o.version+"\n"), 0o644); err != nil {
		return fmt.Errorf("bootstrap iso: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	tmp := outPath + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("bootstrap iso: %w", err)
	}
	defer os.Remove(tmp)
	defer f.Close()
	fsys, err := iso9660.Create(file.New(f, false), 0, 0, blockSize, work)
	if err != nil {
		return fmt.Errorf("bootstrap iso: %w", err)
	}
	if err := fsys.Finalize(iso9660.FinalizeOptions{RockRidge: true, VolumeIdentifier: volumeID}); err != nil {
		return fmt.Errorf("bootstrap iso: finalize: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("bootstrap iso: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Rename(tmp, outPath)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// The umask may have narrowed the mode at creation.
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
