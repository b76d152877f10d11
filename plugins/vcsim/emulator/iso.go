package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

const (
	tetherCacheDir = "tethers"
	tetherName     = "tether"
	isoBlockSize   = 2048
)

// tetherCache holds the tethers read out of bootstrap ISOs, one per ISO content, so a hundred containers
// booting from one ISO read it once and an upgraded ISO is picked up by the next boot.
type tetherCache struct {
	dir string
	mu  sync.Mutex
}

// get returns the local path of the tether in the ISO at isoPath, extracting it on first use.
func (c *tetherCache) get(isoPath string) (string, error) {
	sum, err := fileSHA256(isoPath)
	if err != nil {
		return "", fmt.Errorf("bootstrap ISO: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dst := filepath.Join(c.dir, sum, tetherName)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	tmp := dst + ".tmp"
	if err := extractTether(isoPath, tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// extractTether copies /tether out of the ISO9660 image isoPath into dst, executable.
func extractTether(isoPath, dst string) error {
	f, err := os.Open(isoPath)
	if err != nil {
		return fmt.Errorf("bootstrap ISO: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("bootstrap ISO: %w", err)
	}
	fsys, err := iso9660.Read(file.New(f, true), st.Size(), 0, isoBlockSize)
	if err != nil {
		return fmt.Errorf("bootstrap ISO %s: %w", isoPath, err)
	}
	name, err := findTether(fsys)
	if err != nil {
		return fmt.Errorf("bootstrap ISO %s: %w", isoPath, err)
	}
	src, err := fsys.Open(name) // io/fs paths: relative to the image's root
	if err != nil {
		return fmt.Errorf("bootstrap ISO %s: %w", isoPath, err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return fmt.Errorf("extract the tether from %s: %w", isoPath, err)
	}
	return out.Close()
}

// findTether is the root entry that is the tether. With Rock Ridge (or Joliet) it is "tether"; a plain
// ISO9660 image stores it upper-case with a version ("TETHER.;1"), which is matched too.
func findTether(fsys *iso9660.FileSystem) (string, error) {
	entries, err := fsys.ReadDir(".")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		n := e.Name()
		plain, _, _ := strings.Cut(n, ";")
		if !e.IsDir() && strings.EqualFold(strings.TrimSuffix(plain, "."), tetherName) {
			return n, nil
		}
	}
	return "", fmt.Errorf("no /%s in the image", tetherName)
}
