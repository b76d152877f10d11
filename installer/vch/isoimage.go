package vch

import (
	"fmt"
	"os"
	"strings"

	"github.com/vice-engine/vice/installer/iso"
	"github.com/vice-engine/vice/installer/vchwire"
)

// ISOImage is what vice-machine needs to know of a local ISO: its /VERSION and, for appliance.iso, the
// backend plugins under /plugins with their checksums.
type ISOImage struct {
	Path    string
	Size    int64
	Version string
	Plugins []vchwire.PluginRecord // sorted by name; File is relative to the image's root ("plugins/vice-plugin-vcsim")
}

// ReadISO reads /VERSION and, from an appliance image (one with /init), the plugins and their checksums.
func ReadISO(name string) (*ISOImage, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	img := &ISOImage{Path: name, Size: st.Size()}
	if img.Version, err = iso.ReadVersion(name); err != nil || img.Version == "" {
		return nil, fmt.Errorf("%s has no /VERSION (%v); rebuild the ISO", name, err)
	}
	if _, err := iso.Stat(name, iso.InitPath); err != nil {
		return img, nil // bootstrap.iso: no plugins
	}
	info, err := iso.ReadAppliance(name)
	if err != nil {
		return nil, err
	}
	for _, p := range info.Plugins {
		r := p.Record()
		r.File = strings.TrimPrefix(r.File, "/")
		img.Plugins = append(img.Plugins, r)
	}
	return img, nil
}

// Plugin is the plugin record called name, or nil.
func (img *ISOImage) Plugin(name string) *vchwire.PluginRecord {
	for i := range img.Plugins {
		if img.Plugins[i].Name == name {
			return &img.Plugins[i]
		}
	}
	return nil
}

// registration is what the VCH registers of the image's plugins: the backend's alone. An endpoint serves from
// one backend, and every plugin it starts listens for the containerVMs' serial lines on its one attach address.
// The callers have checked that the image has the backend.
func (img *ISOImage) registration(backend string) []vchwire.PluginRecord {
	if p := img.Plugin(backend); p != nil {
		return []vchwire.PluginRecord{*p}
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
