package sdk

import (
	"context"

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
