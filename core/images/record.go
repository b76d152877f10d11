package images

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// kv keys of the image store.
const (
	imageKeyPrefix = "images.image."
	refsKey        = "images.refs"
)

// Record is one image as persisted: the config exactly as pulled (its sha256 is the ID) and its layers.
type Record struct {
	ID      string        `json:"id"`
	Config  []byte        `json:"config"`
	Layers  []LayerRecord `json:"layers"`
	Size    int64         `json:"size"`
	Created time.Time     `json:"created"`
	// Stored is when the image entered the store.
	Stored time.Time `json:"stored"`
	// Parent is the image a build step made this one from (Docker's parent image), "" for the others. A
	// parent with children is an intermediate image: hidden from the list, kept while they are.
	Parent string `json:"parent,omitempty"`

	config *v1.ConfigFile
}

// LayerRecord is one layer of an image.
type LayerRecord struct {
	ChainID string `json:"chainId"` // the port layer's layer id (hex)
	DiffID  string `json:"diffId"`  // "sha256:<hex>" of the uncompressed tar
	Size    int64  `json:"size"`
	Digest  string `json:"digest,omitempty"` // the registry blob it came from
}

// refsRecord is the tag/digest index: familiar reference -> image ID.
type refsRecord struct {
	Refs map[string]string `json:"refs"`
	// Tagged is when each reference was last set.
	Tagged map[string]time.Time `json:"tagged,omitempty"`
}

func imageKey(id string) string { return imageKeyPrefix + strings.TrimPrefix(id, "sha256:") }

// newRecord makes the record of an image from its config and its layers.
func newRecord(rawConfig []byte, layers []LayerRecord) (*Record, error) {
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(rawConfig)))
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	r := &Record{ID: digestOf(rawConfig), Config: rawConfig, Layers: layers, Created: cfg.Created.Time,
		Stored: time.Now().UTC(), config: cfg}
	for _, l := range layers {
		r.Size += l.Size
	}
	return r, nil
}

func decodeRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(r.Config)))
	if err != nil {
		return nil, err
	}
	if digestOf(r.Config) != r.ID {
		return nil, fmt.Errorf("record %s: config digest is %s", r.ID, digestOf(r.Config))
	}
	r.config = cfg
	return &r, nil
}

// ChainIDs are the port-layer ids of the image's layers, base first.
func (r *Record) ChainIDs() []string {
	out := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		out[i] = l.ChainID
	}
	return out
}

// chainID is the OCI chain ID of a layer (hex) given its parent's chain ID (hex, "" for a base layer) and
// its diff ID ("sha256:<hex>").
func chainID(parent, diffID string) string {
	if parent == "" {
		return strings.TrimPrefix(diffID, "sha256:")
	}
	sum := sha256.Sum256([]byte("sha256:" + parent + " " + diffID))
	return hex.EncodeToString(sum[:])
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// shortID is Docker's 12-character form of an ID.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
