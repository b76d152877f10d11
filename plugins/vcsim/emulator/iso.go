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
	// sums remembers each ISO's digest with the identity of the file it was read from (fileIdentity), so
	// a boot hashes the ISO (tens of megabytes, tens of milliseconds) only when the file has changed.
	sums map[string]isoSum
}

type isoSum struct{ identity, sum string }

// get returns the local path of the tether in the ISO at isoPath, extracting it on first use.
func (c *tetherCache) get(isoPath string) (string, error) {
	sum, err := c.digest(isoPath)
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

// digest is the SHA-256 of the ISO at isoPath, hashed again only when the file's identity changed.
func (c *tetherCache) digest(isoPath string) (string, error) {
	before, err := os.Stat(isoPath)
	if err != nil {
		return "", err
	}
	id := fileIdentity(before)
	c.mu.Lock()
	known, ok := c.sums[isoPath]
	c.mu.Unlock()
	if ok && known.identity == id {
		return known.sum, nil
	}
	sum, err := fileSHA256(isoPath)
	if err != nil {
		return "", err
	}
	// A file written while it was hashed is not remembered: the next boot hashes it again.
	if after, err := os.Stat(isoPath); err == nil && fileIdentity(after) == id {
		c.mu.Lock()
		if c.sums == nil {
			c.sums = map[string]isoSum{}
		}
		c.sums[isoPath] = isoSum{identity: id, sum: sum}
		c.mu.Unlock()
	}
	return sum, nil
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
