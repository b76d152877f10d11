package pluginhost

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// Manifest registers one plugin: a JSON file in the registry directory.
type Manifest struct {
	// Name is how the core refers to the backend ("vcsim", "vsphere").
	Name string `json:"name"`
	// Path is the plugin executable; relative paths are relative to the manifest's directory.
	Path string `json:"path"`
	// SHA256 is the executable's checksum, checked by go-plugin before every start.
	SHA256 string `json:"sha256"`
	// APIVersion is the port-layer API version the plugin serves.
	APIVersion int `json:"apiVersion"`
	// Args and Env are passed to the plugin (Env as KEY=VALUE, added to the endpoint's environment).
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`

	file string
}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ReadManifests loads every *.json manifest of dir, sorted by name.
func ReadManifests(dir string) ([]*Manifest, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no plugin manifests in %s: %w", dir, errdefs.ErrNotFound)
	}
	seen := map[string]string{}
	var out []*Manifest
	for _, f := range files {
		m, err := ReadManifest(f)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[m.Name]; dup {
			return nil, fmt.Errorf("plugin %q is registered twice (%s and %s): %w", m.Name, prev, f, errdefs.ErrConflict)
		}
		seen[m.Name] = f
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ReadManifest loads and checks one manifest file.
func ReadManifest(file string) (*Manifest, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := &Manifest{file: file}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("plugin manifest %s: %v: %w", file, err, errdefs.ErrInvalid)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("plugin manifest %s: %w", file, err)
	}
	if !filepath.IsAbs(m.Path) {
		m.Path = filepath.Join(filepath.Dir(file), m.Path)
	}
	return m, nil
}

func (m *Manifest) validate() error {
	switch {
	case !validName.MatchString(m.Name):
		return fmt.Errorf("name %q must match %s: %w", m.Name, validName, errdefs.ErrInvalid)
	case m.Path == "":
		return fmt.Errorf("path is empty: %w", errdefs.ErrInvalid)
	case m.APIVersion != transport.APIVersion:
		return fmt.Errorf("plugin %s serves port-layer API version %d, this endpoint speaks %d: %w",
			m.Name, m.APIVersion, transport.APIVersion, errdefs.ErrInvalid)
	}
	if sum, err := hex.DecodeString(m.SHA256); err != nil || len(sum) != 32 {
		return fmt.Errorf("sha256 %q is not a hex SHA-256 digest: %w", m.SHA256, errdefs.ErrInvalid)
	}
	return nil
}

// WriteManifest registers a plugin binary in dir, computing its checksum.
func WriteManifest(dir string, m Manifest) (string, error) {
	sum, err := FileSHA256(m.Path)
	if err != nil {
		return "", err
	}
	m.SHA256 = sum
	if m.APIVersion == 0 {
		m.APIVersion = transport.APIVersion
	}
	if err := m.validate(); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	file := filepath.Join(dir, m.Name+".json")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return "", err
	}
	return file, os.Rename(tmp, file)
}
