package emulator

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"

	"github.com/vice-engine/vice/installer/vchwire"
)

const applianceCacheDir = "appliances"

// applianceCache holds the trees read out of appliance ISOs, one per ISO content (like tetherCache): the
// endpoint's init, vice-engine and the plugins, as the ISO lays them out.
type applianceCache struct {
	dir string
	mu  sync.Mutex
}

// get returns the local directory holding the files of the ISO at isoPath, extracting them on first use.
func (c *applianceCache) get(isoPath string) (string, error) {
	sum, err := fileSHA256(isoPath)
	if err != nil {
		return "", fmt.Errorf("appliance ISO: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dst := filepath.Join(c.dir, sum)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(c.dir, sum+".tmp")
	if err != nil {
		return "", err
	}
	if err := extractTree(isoPath, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if _, err := os.Stat(filepath.Join(tmp, vchwire.ApplianceInit)); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("appliance ISO %s: no /%s in the image", isoPath, vchwire.ApplianceInit)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return dst, nil
}

// extractTree copies every directory and regular file of the ISO9660 image isoPath below dst, with the
// modes Rock Ridge recorded (0755 for files of an image without them, so its programs can run). Other
// entries (links, devices) are skipped.
func extractTree(isoPath, dst string) error {
	f, err := os.Open(isoPath)
	if err != nil {
		return fmt.Errorf("appliance ISO: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("appliance ISO: %w", err)
	}
	fsys, err := iso9660.Read(file.New(f, true), st.Size(), 0, isoBlockSize)
	if err != nil {
		return fmt.Errorf("appliance ISO %s: %w", isoPath, err)
	}
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		local, ok := localName(dst, name)
		if !ok {
			return fmt.Errorf("entry %q leaves the image", name)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(local, 0o755)
		case info.Mode().IsRegular():
			mode := info.Mode().Perm()
			if mode == 0 {
				mode = 0o755
			}
			return copyOut(fsys, name, local, mode)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("extract appliance ISO %s: %w", isoPath, err)
	}
	return nil
}

// localName maps an image path to dst: names of a plain ISO9660 image lose their version (";1") and a
// trailing dot; a name that would climb out of dst is refused.
func localName(dst, name string) (string, bool) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		p, _, _ = strings.Cut(p, ";")
		if p = strings.TrimSuffix(p, "."); p == "" || p == "." || p == ".." {
			return "", false
		}
		parts[i] = p
	}
	rel := path.Join(parts...)
	if !fs.ValidPath(rel) {
		return "", false
	}
	return filepath.Join(dst, filepath.FromSlash(rel)), true
}

func copyOut(fsys *iso9660.FileSystem, name, local string, mode os.FileMode) error {
	src, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		return errors.Join(err, out.Close())
	}
	if err := out.Chmod(mode); err != nil { // the umask narrowed it at creation
		return errors.Join(err, out.Close())
	}
	return out.Close()
}
