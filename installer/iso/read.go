package iso

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"

	"github.com/vice-engine/vice/installer/vchwire"
)

// open reads the ISO9660 filesystem of the image at isoPath.
func open(isoPath string) (*iso9660.FileSystem, func(), error) {
	f, err := os.Open(isoPath)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	fsys, err := iso9660.Read(file.New(f, true), fi.Size(), 0, blockSize)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read iso %s: %w", isoPath, err)
	}
	return fsys, func() { f.Close() }, nil
}

// ReadFile returns the contents of the file name (for example TetherPath) in the image at isoPath.
func ReadFile(isoPath, name string) ([]byte, error) {
	fsys, done, err := open(isoPath)
	if err != nil {
		return nil, err
	}
	defer done()
	f, err := fsys.OpenFile(fsPath(name), os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("iso %s: %s: %w", isoPath, name, err)
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Stat describes the file name in the image at isoPath; with Rock Ridge its mode is the one it was built with.
func Stat(isoPath, name string) (fs.FileInfo, error) {
	fsys, done, err := open(isoPath)
	if err != nil {
		return nil, err
	}
	defer done()
	return fsys.Stat(fsPath(name))
}

// fsPath turns "/tether" into go-diskfs's io/fs-style "tether".
func fsPath(name string) string {
	if name = strings.TrimLeft(name, "/"); name == "" {
		return "."
	}
	return name
}

// ReadVersion is the image's /VERSION, without the line end.
func ReadVersion(isoPath string) (string, error) {
	b, err := ReadFile(isoPath, VersionPath)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// PluginFile is one backend plugin of appliance.iso.
type PluginFile struct {
	Path   string // inside the image: "/plugins/vice-plugin-vcsim"
	SHA256 string // hex, as plugin manifests record it
	Size   int64
}

// PluginPrefix starts a backend plugin's file name; the rest is the backend's name.
const PluginPrefix = "vice-plugin-"

// Record registers the plugin under its backend's name (vice-plugin-vcsim is "vcsim"), with no extra
// arguments.
func (p PluginFile) Record() vchwire.PluginRecord {
	return vchwire.PluginRecord{Name: strings.TrimPrefix(path.Base(p.Path), PluginPrefix), File: p.Path, SHA256: p.SHA256}
}

// ApplianceInfo is what the installer needs to know of an appliance.iso.
type ApplianceInfo struct {
	Version string
	Plugins []PluginFile // sorted by path
}

// ReadAppliance reads the version of the appliance image at isoPath and checksums its plugins.
func ReadAppliance(isoPath string) (*ApplianceInfo, error) {
	fsys, done, err := open(isoPath)
	if err != nil {
		return nil, err
	}
	defer done()
	info := &ApplianceInfo{}
	v, err := fsys.ReadFile(fsPath(VersionPath))
	if err != nil {
		return nil, fmt.Errorf("iso %s: %s: %w", isoPath, VersionPath, err)
	}
	info.Version = strings.TrimSpace(string(v))
	if _, err := fsys.Stat(fsPath(InitPath)); err != nil {
		return nil, fmt.Errorf("iso %s: no %s: not an appliance image: %w", isoPath, InitPath, err)
	}
	entries, err := fsys.ReadDir(fsPath(PluginsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("iso %s: %s: %w", isoPath, PluginsDir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		p := path.Join(PluginsDir, e.Name())
		sum, size, err := checksum(fsys, fsPath(p))
		if err != nil {
			return nil, fmt.Errorf("iso %s: %s: %w", isoPath, p, err)
		}
		info.Plugins = append(info.Plugins, PluginFile{Path: p, SHA256: sum, Size: size})
	}
	sort.Slice(info.Plugins, func(i, j int) bool { return info.Plugins[i].Path < info.Plugins[j].Path })
	return info, nil
}

func checksum(fsys *iso9660.FileSystem, name string) (string, int64, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
