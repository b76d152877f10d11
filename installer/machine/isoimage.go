package machine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"

	"github.com/vice-engine/vice/tether/wire"
)

// Names inside appliance.iso and bootstrap.iso.
const (
	isoVersionFile = "VERSION"
	isoPluginsDir  = "plugins"
	pluginPrefix   = "vice-plugin-"
	isoBlockSize   = 2048
)

// ISOImage is what vice-machine needs to know of a local ISO: its /VERSION and, for appliance.iso, the
// backend plugins under /plugins with their checksums.
//
// installer/iso will offer the same reading helpers; until then this small reader does it with go-diskfs.
type ISOImage struct {
	Path    string
	Size    int64
	Version string
	Plugins []wire.PluginRecord
}

// ReadISO reads /VERSION and the /plugins listing of the ISO9660 image at name.
func ReadISO(name string) (*ISOImage, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	fsys, err := iso9660.Read(file.New(f, true), st.Size(), 0, isoBlockSize)
	if err != nil {
		return nil, fmt.Errorf("%s is not an ISO9660 image: %w", name, err)
	}
	img := &ISOImage{Path: name, Size: st.Size()}
	root, err := fsys.ReadDir(".")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var pluginsDir string
	for _, e := range root {
		switch isoName(e.Name()) {
		case strings.ToLower(isoVersionFile):
			if e.IsDir() {
				continue
			}
			data, err := readISOFile(fsys, e.Name())
			if err != nil {
				return nil, fmt.Errorf("read /VERSION of %s: %w", name, err)
			}
			img.Version = strings.TrimSpace(string(data))
		case isoPluginsDir:
			if e.IsDir() {
				pluginsDir = e.Name()
			}
		}
	}
	if img.Version == "" {
		return nil, fmt.Errorf("%s has no /VERSION; rebuild the ISO", name)
	}
	if pluginsDir == "" {
		return img, nil
	}
	entries, err := fsys.ReadDir(pluginsDir)
	if err != nil {
		return nil, fmt.Errorf("read /plugins of %s: %w", name, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := readISOFile(fsys, path.Join(pluginsDir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read /plugins/%s of %s: %w", e.Name(), name, err)
		}
		sum := sha256.Sum256(data)
		base := isoName(e.Name())
		img.Plugins = append(img.Plugins, wire.PluginRecord{
			Name:   strings.TrimPrefix(base, pluginPrefix),
			File:   path.Join(isoPluginsDir, base),
			SHA256: hex.EncodeToString(sum[:]),
		})
	}
	sort.Slice(img.Plugins, func(i, j int) bool { return img.Plugins[i].Name < img.Plugins[j].Name })
	return img, nil
}

// Plugin is the plugin record called name, or nil.
func (img *ISOImage) Plugin(name string) *wire.PluginRecord {
	for i := range img.Plugins {
		if img.Plugins[i].Name == name {
			return &img.Plugins[i]
		}
	}
	return nil
}

// PluginNames lists the plugins' names.
func (img *ISOImage) PluginNames() []string {
	out := make([]string, len(img.Plugins))
	for i, p := range img.Plugins {
		out[i] = p.Name
	}
	return out
}

func readISOFile(fsys *iso9660.FileSystem, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// isoName is an entry's name as it was built: Rock Ridge and Joliet keep it; a plain ISO9660 name is
// upper-case with a version suffix ("VERSION.;1"), turned back to lower case.
func isoName(n string) string {
	plain, _, versioned := strings.Cut(n, ";")
	if versioned || n == strings.ToUpper(n) {
		return strings.ToLower(strings.TrimSuffix(plain, "."))
	}
	return n
}
