package containers

import (
	"encoding/json"
	"sync"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// recordMemoMax bounds the decodings kept; past it the memo starts again empty.
const recordMemoMax = 4096

// recordMemo keeps the decodings of Docker's records (the container config and host config a containerVM
// keeps as JSON annotations), keyed by the JSON text itself: one text always decodes to the same value, so
// what it keeps is never out of date. `docker ps` decodes every container's records on each call, though
// they change only when the container is updated. The decoded values are shared: only read-only paths (the
// listing) use it.
type recordMemo struct {
	mu      sync.Mutex
	configs map[string]*container.Config
	hosts   map[string]*container.HostConfig
}

// decodeShared is decode with the records' decodings shared through m: the record's Config and HostConfig
// must not be changed.
func (m *recordMemo) decodeShared(info *models.ContainerInfo) *record {
	r := newRecord(info)
	a := r.spec.Annotations
	r.Config = memoized(m, &m.configs, a[annConfig])
	r.HostConfig = memoized(m, &m.hosts, a[annHostConfig])
	return r
}

// memoized is the decoding of raw kept in *memo, decoding and keeping it when it is not there.
func memoized[T any](m *recordMemo, memo *map[string]*T, raw string) *T {
	m.mu.Lock()
	v, ok := (*memo)[raw]
	m.mu.Unlock()
	if ok {
		return v
	}
	v = new(T)
	_ = json.Unmarshal([]byte(raw), v) // a container made elsewhere has zero records
	m.mu.Lock()
	defer m.mu.Unlock()
	if *memo == nil || len(*memo) >= recordMemoMax {
		*memo = map[string]*T{}
	}
	(*memo)[raw] = v
	return v
}
