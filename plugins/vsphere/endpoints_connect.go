package vsphere

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// networkReloadTimeout bounds the guest's configuration of a hot-added or removed NIC.
const networkReloadTimeout = 45 * time.Second

// ConnectContainer puts container id on the endpoint's network: a NIC on the network's port group (hot-added
// when the containerVM runs, after which its guest configures it), an address and the container's names.
func (b *Backend) ConnectContainer(ctx context.Context, id string, ask *models.Endpoint) (*models.ContainerInfo, error) {
	if ask == nil || ask.Network == nil {
		return nil, fmt.Errorf("an endpoint needs a network ID: %w", errdefs.ErrInvalid)
	}
	s, err := b.scopeByID(ctx, *ask.Network)
	if err != nil {
		return nil, err
	}
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b.ctr.createMu.Lock() // the allocation lock
	defer b.ctr.createMu.Unlock()
	all, err := b.containerVMs(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(all, func(c *containerVM) bool { return c.id() == id })
	if i < 0 {
		return nil, fmt.Errorf("no such container: %s: %w", id, errdefs.ErrNotFound)
	}
	c := all[i]
	if c.endpoint(s.ID) != nil {
		return nil, fmt.Errorf("endpoint with name %s already exists in network %s: %w", c.name(), s.Name, errdefs.ErrConflict)
	}
	ep, err := b.planEndpoint(s, id, ask, b.inUseLocked(all))
	if err != nil {
		return nil, err
	}
	backing, err := b.nicBacking(ctx, s.PortGroup)
	if err != nil {
		return nil, err
	}
	eps := append(c.endpoints(), ep)
	change, err := b.networkChange(ctx, c, eps)
	if err != nil {
		return nil, err
	}
	change.DeviceChange = []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
		Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: vmxnet3(-1, nicSpec{mac: ep.MAC, backing: backing}),
	}}
	if err := b.reconfigure(ctx, c, change); err != nil {
		return nil, fmt.Errorf("connect container %s to network %s: %w", id, s.Name, err)
	}
	b.log.Info("container connected", "container", id, "network", s.Name, "ip", ep.IP, "mac", ep.MAC, "running", c.on())
	b.publishNetwork(s, "connect", map[string]string{"container": id})
	b.net.endpointsChanged()
	return b.afterNetworkChange(ctx, c, s, "connect")
}

// DisconnectContainer takes container id off network scope, hot-removing its NIC when it runs.
func (b *Backend) DisconnectContainer(ctx context.Context, id, scopeID string) (*models.ContainerInfo, error) {
	s, err := b.scopeByID(ctx, scopeID)
	if err != nil {
		return nil, err
	}
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b.ctr.createMu.Lock()
	defer b.ctr.createMu.Unlock()
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	ep := c.endpoint(s.ID)
	if ep == nil {
		return nil, fmt.Errorf("container %s is not connected to network %s: %w", id, s.Name, errdefs.ErrNotFound)
	}
	eps := slices.DeleteFunc(c.endpoints(), func(e endpointRecord) bool { return e.Network == s.ID })
	change, err := b.networkChange(ctx, c, eps)
	if err != nil {
		return nil, err
	}
	devices, err := b.vmObject(c).Device(ctx)
	if err != nil {
		return nil, classify(err, "read the devices of "+c.vmName)
	}
	for _, d := range devices {
		if card, ok := d.(types.BaseVirtualEthernetCard); ok && strings.EqualFold(card.GetVirtualEthernetCard().MacAddress, ep.MAC) {
			change.DeviceChange = append(change.DeviceChange, &types.VirtualDeviceConfigSpec{
				Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: d,
			})
		}
	}
	if err := b.reconfigure(ctx, c, change); err != nil {
		return nil, fmt.Errorf("disconnect container %s from network %s: %w", id, s.Name, err)
	}
	b.log.Info("container disconnected", "container", id, "network", s.Name, "running", c.on())
	b.publishNetwork(s, "disconnect", map[string]string{"container": id})
	b.net.endpointsChanged()
	return b.afterNetworkChange(ctx, c, s, "disconnect")
}

// networkChange is the reconfigure that gives container c the endpoints eps: their records, and the guest's
// configuration that sets them up.
func (b *Backend) networkChange(ctx context.Context, c *containerVM, eps []endpointRecord) (types.VirtualMachineConfigSpec, error) {
	scopes, err := b.scopeMap(ctx)
	if err != nil {
		return types.VirtualMachineConfigSpec{}, err
	}
	var cfg wire.ContainerConfig
	if err := json.Unmarshal([]byte(c.extra[wire.KeyConfig]), &cfg); err != nil {
		return types.VirtualMachineConfigSpec{}, fmt.Errorf("container %s: its configuration is damaged: %w", c.id(), errdefs.ErrSystem)
	}
	cfg.Networks = guestNetworks(eps, scopes, decodePorts(c.extra[keyPorts]))
	cfg.DNS = b.guestDNS(eps, scopes, c.askedDNS(cfg))
	raw, err := json.Marshal(cfg)
	if err != nil {
		return types.VirtualMachineConfigSpec{}, fmt.Errorf("encode the guest's configuration: %w: %w", errdefs.ErrSystem, err)
	}
	keys := map[string]string{wire.KeyConfig: string(raw), keyEndpoints: encodeEndpoints(eps)}
	if _, ok := c.extra[keyDNS]; !ok {
		// Keep the servers asked for apart from the guest's, which now follow its networks.
		if servers := c.askedDNS(cfg); len(servers) > 0 {
			raw, _ := json.Marshal(servers) // strings always encode
			keys[keyDNS] = string(raw)
		}
	}
	return extraConfigChange(keys), nil
}

// afterNetworkChange has a running container's guest apply its new configuration, and describes it.
func (b *Backend) afterNetworkChange(ctx context.Context, c *containerVM, s *scope, what string) (*models.ContainerInfo, error) {
	after, err := b.readVM(ctx, c.ref)
	if err != nil {
		return nil, err
	}
	if after.on() && after.state().Running {
		if err := b.reloadGuestNetwork(ctx, after.id()); err != nil {
			return nil, fmt.Errorf("%s container %s and network %s: the guest did not apply it: %w", what, after.id(), s.Name, err)
		}
	}
	return b.info(after), nil
}

// reloadGuestNetwork asks container id's tether to apply its network configuration again, and waits until it
// has (a hot-added NIC must appear in the guest first).
func (b *Backend) reloadGuestNetwork(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, networkReloadTimeout)
	defer cancel()
	g, err := b.ctr.attach.guest(ctx, id, networkReloadTimeout)
	if err != nil {
		return err
	}
	type reply struct {
		ok      bool
		payload []byte
		err     error
	}
	done := make(chan reply, 1)
	go func() {
		ok, payload, err := g.conn.SendRequest(wire.RequestNetwork, true, nil)
		done <- reply{ok, payload, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return fmt.Errorf("network request to container %s: %w", id, errdefs.Classed(r.err, errdefs.ErrUnavailable))
		}
		if !r.ok {
			var re wire.ReplyError
			_ = json.Unmarshal(r.payload, &re)
			return fmt.Errorf("container %s: %s: %w", id, re.Error, errdefs.ErrSystem)
		}
		return nil
	case <-ctx.Done():
		return classify(ctx.Err(), "network request to container "+id)
	}
}
