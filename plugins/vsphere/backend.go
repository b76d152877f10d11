package vsphere

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"

	"github.com/vmware/govmomi/vim25"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/vsphere/events"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Backend serves one VCH on a vSphere target.
type Backend struct {
	cfg    Config
	target *url.URL // with credentials; only redact(target) leaves the package
	log    *slog.Logger
	sess   *vimSession
	where  *placement
	bus    *events.Bus

	kvMu sync.Mutex // serialises this process's writes, so revisions of one key never collide here

	layers layerState // the image store's caches and locks

	ctr containerRuntime // the containers' locks, attach listener and inventory watch

	vols        volumeState // the volume stores and the records of their volumes
	scopes      scopeState  // the networks
	nicBackings sync.Map    // port group name -> types.BaseVirtualDeviceBackingInfo
	net         netRuntime  // the endpoint's side of the networks

	closeOnce sync.Once
}

var (
	_ sdk.Backend     = (*Backend)(nil)
	_ sdk.KVStore     = (*Backend)(nil)
	_ sdk.EventSource = (*Backend)(nil)
	_ sdk.LayerStore  = (*Backend)(nil)
	_ sdk.Volumes     = (*Backend)(nil)
	_ sdk.Scopes      = (*Backend)(nil)

	_ sdk.ChangeReporter = (*Backend)(nil)
)

// New logs in to cfg's target, resolves the VCH's place in the inventory and makes sure its resource pool and
// datastore folder exist. Close the backend to log out.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg, u, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("backend", cfg.BackendName, "vch", cfg.VCHName)
	sess, err := dial(ctx, u, cfg.Insecure, cfg.Thumbprint, log)
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, target: u, log: log, sess: sess, bus: events.NewBus(0)}
	b.ctr.probes.changes = sdk.NewChanges()
	sess.client.RoundTripper = probesStaleOn(sess.client.RoundTripper, &b.ctr.probes)
	if b.where, err = resolvePlacement(ctx, sess.client, cfg); err != nil {
		_ = sess.logout(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := b.ensureKVFolder(ctx); err != nil {
		_ = sess.logout(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := b.openVolumeStores(ctx); err != nil {
		_ = sess.logout(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := b.startContainers(ctx); err != nil {
		_ = sess.logout(context.WithoutCancel(ctx))
		return nil, err
	}
	b.startNetworks(ctx)
	log.Info("connected to vSphere", "url", redact(u), "datacenter", b.where.datacenter.InventoryPath,
		"computeResource", b.where.compute.InventoryPath, "datastore", b.where.datastore.Name(),
		"pool", b.where.pool.InventoryPath)
	return b, nil
}

// Close logs out of vSphere. Later calls do nothing.
func (b *Backend) Close(ctx context.Context) error {
	var err error
	b.closeOnce.Do(func() {
		b.stopNetworks()
		b.stopContainers()
		err = b.sess.logout(ctx)
	})
	return err
}

// Changes is the backend's change clock: it moves with every change of what vSphere says of the pool's VMs
// that this process makes, reads or is told of (poolProbes), and with a guest's notice that its process
// started.
func (b *Backend) Changes() *sdk.Changes { return b.ctr.probes.changes }

// Name is the backend's registered name ("vsphere" or "vcsim").
func (b *Backend) Name() string { return b.cfg.BackendName }

// Ping checks that vSphere answers and that our session is still valid, logging in again if it lapsed.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.sess.ensure(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", redact(b.target), err)
	}
	return nil
}

// Events streams the backend's events of the given types (all when empty) until ctx is cancelled.
func (b *Backend) Events(ctx context.Context, types []string) (<-chan *models.Event, error) {
	return b.bus.Subscribe(ctx, types), nil
}

// Bus is the backend's event bus, for the parts of a backend (such as the vcsim emulator) that publish events.
func (b *Backend) Bus() *events.Bus { return b.bus }

// Client is the backend's authenticated vSphere client, for packages that extend the backend.
func (b *Backend) Client() *vim25.Client { return b.sess.client }
