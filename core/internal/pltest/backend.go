package pltest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Backend is an in-memory sdk.Backend, sdk.KVStore, sdk.EventSource and sdk.LayerStore.
type Backend struct {
	// VCH is what Info answers; PingErr and InfoErr, when set, are what Ping and Info fail with.
	VCH     *models.VCHInfo
	PingErr error
	InfoErr error

	// StartErr, when set, is what StartContainer fails with. Creates and Attaches count those calls.
	StartErr error
	Creates  int
	Attaches int

	mu     sync.Mutex
	ctrs   map[string]*container
	kv     map[string]*models.KeyValue
	layers map[string]*layer
	writes map[string]int
	subs   map[chan *models.Event][]string
	cond   *sync.Cond
}

var (
	_ sdk.Backend     = (*Backend)(nil)
	_ sdk.KVStore     = (*Backend)(nil)
	_ sdk.EventSource = (*Backend)(nil)
)

// NewBackend returns a backend describing a small vCenter VCH named "vch-test".
func NewBackend() *Backend {
	b := &Backend{VCH: SampleVCH(), kv: map[string]*models.KeyValue{},
		layers: map[string]*layer{}, writes: map[string]int{}, subs: map[chan *models.Event][]string{}}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// Handler serves b as the port layer, through the generated server.
func (b *Backend) Handler() http.Handler {
	h, err := sdk.NewHandler(b)
	if err != nil {
		panic(err) // the embedded spec is broken: nothing a test can do
	}
	return h
}

// SampleVCH is a VCH on a simulated vCenter with two hosts and two datastores.
func SampleVCH() *models.VCHInfo {
	s := func(v string) *string { return &v }
	return &models.VCHInfo{
		Name:           s("vch-test"),
		ID:             "resgroup-v42",
		Backend:        s("fake"),
		BackendVersion: "0.0.1",
		Vsphere: &models.VSphereInfo{
			Name: "VMware vCenter Server", FullName: "VMware vCenter Server 8.0.2 build-22617221",
			Version: "8.0.2", Build: "22617221", APIVersion: "8.0.2.0", APIType: "VirtualCenter",
			InstanceUUID: "dbed6e0c-bd88-4ef6-b594-21283e1c677f", URL: "https://vc.example.com/sdk",
		},
		Pool: &models.PoolInfo{
			Path: s("/DC0/host/DC0_C0/Resources/vch-test"), Cpus: 8, CPULimitMhz: -1, CPUCapacityMhz: 18400,
			CPUUsageMhz: 230, MemoryLimitBytes: -1, MemoryCapacityBytes: 16 << 30, MemoryUsageBytes: 1 << 30,
		},
		Hosts: []*models.HostInfo{
			{Name: "DC0_C0_H0", CPUCores: 4, CPUMhz: 2300, MemoryBytes: 8 << 30, ConnectionState: "connected"},
			{Name: "DC0_C0_H1", CPUCores: 4, CPUMhz: 2300, MemoryBytes: 8 << 30, ConnectionState: "connected"},
		},
		Datastores: []*models.DatastoreInfo{
			{Name: "LocalDS_0", Type: "OTHER", URL: "ds:///vmfs/volumes/ds0/", CapacityBytes: 100 << 30, FreeBytes: 60 << 30},
			{Name: "LocalDS_1", Type: "OTHER", URL: "ds:///vmfs/volumes/ds1/", CapacityBytes: 100 << 30, FreeBytes: 90 << 30},
		},
		Networks: []*models.NetworkInfo{{Name: "VM Network", Type: "Network"}},
	}
}

// Name is "fake".
func (b *Backend) Name() string { return "fake" }

// Ping answers PingErr.
func (b *Backend) Ping(context.Context) error { return b.PingErr }

// Info answers VCH or InfoErr.
func (b *Backend) Info(context.Context) (*models.VCHInfo, error) {
	if b.InfoErr != nil {
		return nil, b.InfoErr
	}
	return b.VCH, nil
}

// ListValues returns the records under prefix, ordered by key.
func (b *Backend) ListValues(_ context.Context, prefix string) ([]*models.KeyValue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*models.KeyValue
	for k, v := range b.kv {
		if strings.HasPrefix(k, prefix) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return *out[i].Key < *out[j].Key })
	return out, nil
}

// GetValue returns the record key.
func (b *Backend) GetValue(_ context.Context, key string) (*models.KeyValue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.kv[key]
	if !ok {
		return nil, fmt.Errorf("key %s: %w", key, errdefs.ErrNotFound)
	}
	return v, nil
}

// PutValue stores r with the next revision.
func (b *Backend) PutValue(_ context.Context, r *models.KeyValue) (*models.KeyValue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rev := int64(1)
	if old, ok := b.kv[*r.Key]; ok {
		rev = old.Revision + 1
	}
	stored := &models.KeyValue{Key: r.Key, Value: r.Value, Revision: rev}
	b.kv[*r.Key] = stored
	return stored, nil
}

// DeleteValue removes key.
func (b *Backend) DeleteValue(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.kv[key]; !ok {
		return fmt.Errorf("key %s: %w", key, errdefs.ErrNotFound)
	}
	delete(b.kv, key)
	return nil
}

// Events subscribes to what Emit sends until ctx is cancelled.
func (b *Backend) Events(ctx context.Context, types []string) (<-chan *models.Event, error) {
	ch := make(chan *models.Event, 64)
	b.mu.Lock()
	b.subs[ch] = types
	b.cond.Broadcast()
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, ch)
		b.cond.Broadcast()
		b.mu.Unlock()
		close(ch)
	}()
	return ch, nil
}

// Emit delivers ev to every subscriber that wants its type; a full subscriber misses it.
func (b *Backend) Emit(ev *models.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, types := range b.subs {
		if len(types) > 0 && !slices.Contains(types, *ev.Type) {
			continue
		}
		select {
		case ch <- ev:
		default:
		}
	}
}

// WaitSubscribers blocks until exactly n event subscribers are registered.
func (b *Backend) WaitSubscribers(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.subs) != n {
		b.cond.Wait()
	}
}

// Event builds a port-layer event.
func Event(typ, action, id string, nanos int64, attrs map[string]string) *models.Event {
	return &models.Event{Type: &typ, Action: &action, ID: id, Time: &nanos, Attributes: attrs}
}
