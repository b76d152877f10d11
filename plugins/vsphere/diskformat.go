package vsphere

import (
	"bytes"
	"fmt"
	"io"
	"os"

	diskfile "github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/ext4"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// formatDisk makes an empty ext4 filesystem (go-diskfs's) on dev, a fresh disk. A fresh thin disk reads as
// zeros, so only the blocks that are not zero are written: the filesystem's metadata, a few MiB, rather than
// its zeroed inode tables and journal.
func formatDisk(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("format %s: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("format %s: size: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	if _, err := ext4.Create(diskfile.New(sparseWriter{f}, false), size, 0, 512, &ext4.Params{VolumeName: "vice"}); err != nil {
		return fmt.Errorf("format %s: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("format %s: %w", dev, errdefs.Classed(err, errdefs.ErrSystem))
	}
	return nil
}

// sparseWriter writes to a device that reads as zeros: blocks of zeros are skipped.
type sparseWriter struct{ *os.File }

const sparseBlock = 4096

var zeroBlock = make([]byte, sparseBlock)

func (w sparseWriter) WriteAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		// Up to the next block boundary of the device.
		n := min(len(p)-done, sparseBlock-int((off+int64(done))%sparseBlock))
		chunk := p[done : done+n]
		if !bytes.Equal(chunk, zeroBlock[:n]) {
			// Gather the run of chunks that are not zero into one write.
			end := done + n
			for end < len(p) {
				m := min(len(p)-end, sparseBlock)
				if bytes.Equal(p[end:end+m], zeroBlock[:m]) {
					break
				}
				end += m
			}
			if _, err := w.File.WriteAt(p[done:end], off+int64(done)); err != nil {
				return done, err
			}
			done = end
			continue
		}
		done += n
	}
	return len(p), nil
}
