package vch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strings"

	units "github.com/docker/go-units"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vice-engine/vice/installer/vchwire"
)

// validationError lists every problem validation found, each saying what to fix.
type validationError struct{ issues []error }

func (e *validationError) Error() string {
	lines := make([]string, 0, len(e.issues))
	for _, i := range e.issues {
		lines = append(lines, i.Error())
	}
	return strings.Join(lines, "\n")
}

type issues []error

func (is *issues) add(err error) {
	if err != nil {
		*is = append(*is, err)
	}
}

func (is issues) err() error {
	if len(is) == 0 {
		return nil
	}
	return &validationError{issues: is}
}

// baseImageBytes is the only base image size the backends make today (their layer disks are 8 GB).
const baseImageBytes = 8 * 1000 * 1000 * 1000

// namePattern is what a VCH name may be: it names a pool, a VM and datastore folders.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,59}$`)

// plannedVolume is a volume store with its datastore.
type plannedVolume struct {
	VolumeStore
	ds *object.Datastore
}

// createPlan is a validated create: everything resolved, nothing made yet.
type createPlan struct {
	o       CreateOptions
	mode    string
	app     *ISOImage
	boot    *ISOImage
	p       *placement
	drs     bool
	store   *object.Datastore
	volumes []plannedVolume
	// nics are the endpoint's networks, in order: public, bridge, then client and management when distinct.
	nics              []object.NetworkReference
	containerNetworks []vchwire.ContainerNetwork
	registryCAs       string // the PEM bundle of --registry-ca
}

// validateLocal checks what needs no target: names, ISOs, addresses, sizes. It fills the defaults in o.
func (m *Manager) validateLocal(o *CreateOptions) (*createPlan, error) {
	var is issues
	if o.Name == "" {
		o.Name = DefaultName
	}
	if !namePattern.MatchString(o.Name) {
		is.add(fmt.Errorf("--name %q: a VCH name is 1 to 60 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit", o.Name))
	}
	plan := &createPlan{mode: tlsMode(o.TLSOptions)}
	if o.NoTLS && o.NoTLSVerify {
		is.add(errors.New("--no-tls and --no-tlsverify exclude each other: --no-tls is plain HTTP, --no-tlsverify is TLS without client certificates"))
	}
	if o.Backend == "" {
		o.Backend = DefaultBackend
	}
	knownBackend := slices.Contains(Backends, o.Backend)
	if !knownBackend {
		is.add(fmt.Errorf("--backend %q is not one of %s", o.Backend, strings.Join(Backends, ", ")))
	}
	var err error
	if plan.app, err = ReadISO(o.ApplianceISO); err != nil {
		plan.app = nil
		is.add(fmt.Errorf("appliance ISO: %w; build it or give its path with --appliance-iso", err))
	} else if knownBackend && plan.app.Plugin(o.Backend) == nil {
		is.add(fmt.Errorf("%s has no plugin %q for --backend (it has: %s); use one of those or another --appliance-iso",
			o.ApplianceISO, o.Backend, strings.Join(plan.app.PluginNames(), ", ")))
	}
	if plan.boot, err = ReadISO(o.BootstrapISO); err != nil {
		plan.boot = nil
		is.add(fmt.Errorf("bootstrap ISO: %w; build it (make bootstrap-iso) or give its path with --bootstrap-iso", err))
	}
	if plan.app != nil && plan.boot != nil && plan.app.Version != plan.boot.Version {
		m.log().Warnf("appliance.iso is version %s but bootstrap.iso is version %s", plan.app.Version, plan.boot.Version)
	}
	if o.BridgeNetworkRange == "" {
		o.BridgeNetworkRange = DefaultBridgeNetworkRange
	}
	if _, _, err := net.ParseCIDR(o.BridgeNetworkRange); err != nil {
		is.add(fmt.Errorf("--bridge-network-range %q: range must be in CIDR format, e.g., %s", o.BridgeNetworkRange, DefaultBridgeNetworkRange))
	}
	for _, d := range o.DNS {
		if net.ParseIP(d) == nil {
			is.add(fmt.Errorf("--dns-server %q is not an IP address", d))
		}
	}
	plan.registryCAs = registrySettings(&is, o.RegistryMirrors, o.WhitelistRegistries, o.RegistryCAFiles)
	labels := map[string]bool{}
	for _, raw := range o.VolumeStores {
		v, err := ParseVolumeStore(raw)
		if err != nil {
			is.add(err)
			continue
		}
		if labels[v.Label] {
			is.add(fmt.Errorf("--volume-store label %q is used twice; give each store its own label", v.Label))
		}
		labels[v.Label] = true
		plan.volumes = append(plan.volumes, plannedVolume{VolumeStore: v})
	}
	aliases := map[string]bool{}
	for _, raw := range o.ContainerNetworks {
		n, err := ParseContainerNetwork(raw)
		if err != nil {
			is.add(err)
			continue
		}
		if aliases[n.Alias] || n.Alias == "bridge" {
			is.add(fmt.Errorf("--container-network name %q is used twice (\"bridge\" is the bridge network's); give each its own", n.Alias))
		}
		aliases[n.Alias] = true
		plan.containerNetworks = append(plan.containerNetworks, n)
	}
	is.add(o.ContainerNetworkSettings.apply(plan.containerNetworks, true))
	if o.MemoryMB < 0 || o.CPUMHz < 0 {
		is.add(errors.New("--memory and --cpu are limits in MB and MHz: 0 (no limit) or more"))
	}
	if o.EndpointMemoryMB == 0 {
		o.EndpointMemoryMB = DefaultEndpointMemoryMB
	}
	if o.EndpointCPUs == 0 {
		o.EndpointCPUs = DefaultEndpointCPUs
	}
	if o.EndpointMemoryMB < 512 {
		is.add(fmt.Errorf("--endpoint-memory %d MB is too small: the appliance needs at least 512 MB", o.EndpointMemoryMB))
	}
	if o.EndpointCPUs < 1 || o.EndpointCPUs > 128 {
		is.add(fmt.Errorf("--endpoint-cpu %d: give 1 to 128 virtual CPUs", o.EndpointCPUs))
	}
	if o.BaseImageSize == "" {
		o.BaseImageSize = DefaultBaseImageSize
	}
	if n, err := units.FromHumanSize(o.BaseImageSize); err != nil {
		is.add(fmt.Errorf("--base-image-size %q is not a size such as %s", o.BaseImageSize, DefaultBaseImageSize))
	} else if n != baseImageBytes {
		m.log().Warnf("--base-image-size %s is not configurable yet: the backends make %s container disks", o.BaseImageSize, DefaultBaseImageSize)
	}
	if plan.mode == vchwire.TLSOff && len(o.CNames) > 0 {
		m.log().Warnf("--tls-cname is ignored with --no-tls")
	}
	plan.o = *o
	return plan, is.err()
}

// validateTarget resolves and checks everything on the target. Nothing is created.
func (m *Manager) validateTarget(ctx context.Context, s *Session, plan *createPlan) error {
	o := &plan.o
	log := m.log()
	log.Infof("Validating supplied configuration")
	var err error
	if plan.p, err = s.resolvePlacement(ctx, o.ComputeResource); err != nil {
		return err
	}
	var is issues

	avail, err := s.datastores(ctx, plan.p)
	if err != nil {
		return err
	}
	plan.store, err = s.datastore(ctx, avail, strings.TrimPrefix(o.ImageStore, "ds://"), "--image-store")
	is.add(err)
	if plan.store != nil {
		o.ImageStore = plan.store.Name()
	}
	for i := range plan.volumes {
		v := &plan.volumes[i]
		if v.NFS != "" {
			continue // the endpoint reaches the export itself
		}
		v.ds, err = s.datastore(ctx, avail, v.Datastore, "--volume-store")
		is.add(err)
	}

	nets, err := s.networkNames(ctx, plan.p)
	if err != nil {
		return err
	}
	if o.PublicNetwork == "" {
		o.PublicNetwork = DefaultPublicNetwork
	}
	if o.ClientNetwork == "" {
		o.ClientNetwork = o.PublicNetwork
	}
	if o.ManagementNetwork == "" {
		o.ManagementNetwork = o.PublicNetwork
	}
	roles := []struct{ name, flag string }{
		{o.PublicNetwork, "--public-network"}, {o.BridgeNetwork, "--bridge-network"},
		{o.ClientNetwork, "--client-network"}, {o.ManagementNetwork, "--management-network"},
	}
	seen := map[string]bool{}
	for _, r := range roles {
		if seen[r.name] && r.name != "" {
			continue // a role sharing another's port group shares its NIC (and its error)
		}
		seen[r.name] = true
		n, err := s.network(ctx, nets, r.name, r.flag)
		if err != nil {
			is.add(err)
			continue
		}
		plan.nics = append(plan.nics, n)
	}
	if o.BridgeNetwork != "" && (o.BridgeNetwork == o.PublicNetwork || o.BridgeNetwork == o.ClientNetwork || o.BridgeNetwork == o.ManagementNetwork) {
		is.add(fmt.Errorf("--bridge-network %q must not be shared with another network role (public, client, management); "+
			"give the bridge a port group of its own", o.BridgeNetwork))
	}
	for _, cn := range plan.containerNetworks {
		if _, err := s.network(ctx, nets, cn.PortGroup, "--container-network"); err != nil {
			is.add(err)
		} else if cn.PortGroup == o.BridgeNetwork {
			is.add(fmt.Errorf("--container-network %q is the bridge network; choose another port group", cn.PortGroup))
		}
	}

	is.add(s.checkNameFree(ctx, plan))

	s.checkFirewall(ctx, plan.p, log)
	is.add(s.checkLicense(ctx, plan.p, log))
	plan.drs = s.checkDRS(ctx, plan.p, log)
	return is.err()
}

// checkNameFree refuses a name a pool, vApp or VM has already, or whose datastore folder exists.
func (s *Session) checkNameFree(ctx context.Context, plan *createPlan) error {
	name := plan.o.Name
	var root mo.ResourcePool
	if err := plan.p.RootPool.Properties(ctx, plan.p.RootPool.Reference(), []string{"resourcePool"}, &root); err != nil {
		return fmt.Errorf("list the pools of %s: %w", plan.p.RootPool.InventoryPath, err)
	}
	if len(root.ResourcePool) > 0 {
		var children []mo.ManagedEntity
		if err := retrieve(ctx, s, root.ResourcePool, []string{"name"}, &children); err != nil {
			return fmt.Errorf("read the pools of %s: %w", plan.p.RootPool.InventoryPath, err)
		}
		for _, c := range children {
			if c.Name == name {
				return fmt.Errorf("a %s named %q already exists in %s: choose another --name, or delete that VCH first "+
					"(vice-machine delete --name %q)", kind(c.Self.Type), name, plan.p.RootPool.InventoryPath, name)
			}
		}
	}
	v, err := view.NewManager(s.Client).CreateContainerView(ctx, plan.p.Datacenter.Reference(), []string{"VirtualMachine"}, true)
	if err != nil {
		return err
	}
	defer v.Destroy(ctx)
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name"}, &vms); err != nil {
		return fmt.Errorf("look for VMs named %q: %w", name, err)
	}
	for _, vm := range vms {
		if vm.Name == name {
			return fmt.Errorf("a VM named %q already exists in %s: choose another --name", name, plan.p.Datacenter.InventoryPath)
		}
	}
	if plan.store != nil {
		exists, err := s.files(plan.p.Datacenter, plan.store).exists(ctx, name)
		if err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("the datastore folder %s already exists: choose another --name, or remove the folder if nothing uses it",
				plan.store.Path(name))
		}
	}
	return nil
}

func kind(moType string) string {
	switch moType {
	case "VirtualApp":
		return "virtual app"
	case "ResourcePool":
		return "resource pool"
	}
	return strings.ToLower(moType)
}

// poolPath is the inventory path the VCH's pool will have.
func (plan *createPlan) poolPath() string {
	return path.Join(plan.p.RootPool.InventoryPath, plan.o.Name)
}
