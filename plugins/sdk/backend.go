package sdk

import (
	"context"
	"io"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// Backend is what every backend serves: liveness and the facts of its Virtual Container Host.
// Further capabilities are optional interfaces (KVStore, EventSource, ...); an operation whose interface a
// backend lacks answers with the not_implemented class.
type Backend interface {
	// Name is the backend's name as registered ("vsphere", "vcsim").
	Name() string
	// Ping answers nil when the backend is able to serve.
	Ping(ctx context.Context) error
	// Info describes the VCH, its vSphere target and its capacity.
	Info(ctx context.Context) (*models.VCHInfo, error)
}

// KVStore keeps small records durably (on the datastore for vSphere backends).
type KVStore interface {
	// ListValues returns the records whose keys start with prefix, ordered by key.
	ListValues(ctx context.Context, prefix string) ([]*models.KeyValue, error)
	// GetValue returns one record or an errdefs.ErrNotFound error.
	GetValue(ctx context.Context, key string) (*models.KeyValue, error)
	// PutValue creates or replaces a record atomically and returns it with its new revision.
	PutValue(ctx context.Context, kv *models.KeyValue) (*models.KeyValue, error)
	// DeleteValue removes a record; a missing one is an errdefs.ErrNotFound error.
	DeleteValue(ctx context.Context, key string) error
}

// EventSource streams backend events.
type EventSource interface {
	// Events delivers events of the given types (all when empty) until ctx is cancelled, then closes the
	// channel. A slow reader must not block the backend: events it cannot take are dropped for it.
	Events(ctx context.Context, types []string) (<-chan *models.Event, error)
}

// LayerStore is the image store: a chain of layer disks, each a child of its parent's.
type LayerStore interface {
	// ListLayers returns the complete layers.
	ListLayers(ctx context.Context) ([]*models.LayerInfo, error)
	// GetLayer returns one complete layer, or an errdefs.ErrNotFound error.
	GetLayer(ctx context.Context, id string) (*models.LayerInfo, error)
	// WriteLayer creates layer id as a child of parent ("" for a base layer) from a diff tar compressed as
	// compression says ("none" or "gzip"). The layer is visible only once complete; a layer that exists
	// is an errdefs.ErrConflict error, a missing parent errdefs.ErrNotFound, a bad tar errdefs.ErrInvalid.
	// A backend may take the write of a child while it is still writing the parent (the pull of an image
	// writes its layers at once), committing the child after the parent; one that answers ErrNotFound
	// instead has the child written again once the parent is complete.
	WriteLayer(ctx context.Context, id, parent, compression string, diff io.Reader) (*models.LayerInfo, error)
	// RemoveLayer removes a layer; one that is a parent of another is an errdefs.ErrConflict error.
	RemoveLayer(ctx context.Context, id string) error
	// ReadLayerDiff returns the layer's diff as an uncompressed tar, byte for byte as written.
	ReadLayerDiff(ctx context.Context, id string) (io.ReadCloser, error)
}
