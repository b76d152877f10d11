package vsphere

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// shortIDLength is the container ID prefix in VM names, as Docker shortens IDs.
const shortIDLength = 12

// maxVMNameLength is the longest VM name vice makes: vSphere's limit on inventory names, which VIC kept to.
const maxVMNameLength = 80

// vmNameOf is a containerVM's name: the container's name and short ID, so names stay readable in the vSphere
// client and two containers never share a VM name. A long container name is cut so that the VM name (and
// its datastore folder) stays within maxVMNameLength, as VIC did; the full name stays in the VM's config.
func vmNameOf(name, id string) string {
	if keep := maxVMNameLength - 1 - shortIDLength; len(name) > keep {
		name = name[:keep]
	}
	return name + "-" + id[:shortIDLength]
}

// CreateContainer makes a powered-off containerVM from spec: first the container's disk, a child of the
// image's top layer, in the VM's folder, then the VM with every device and its configuration in one CreateVM,
// and describes it as the spec and CreateVM's result say (createdVM), without reading it back.
func (b *Backend) CreateContainer(ctx context.Context, spec *models.ContainerSpec) (*models.ContainerInfo, error) {
	c, err := b.createContainerVM(ctx, spec)
	if err != nil {
		return nil, err
	}
	return b.info(c), nil
}

// createContainerVM is CreateContainer's work: the containerVM it made.
func (b *Backend) createContainerVM(ctx context.Context, spec *models.ContainerSpec) (*containerVM, error) {
	l, err := b.layoutOf(ctx, spec)
	if err != nil {
		return nil, err
	}
	// The name check reads the pool while the disk is made: they need nothing of each other. A create that
	// the check refuses removes the VM's folder only when it made it, so a container that has that folder
	// (this ID and name) keeps it.
	reserved := make(chan error, 1)
	go func() { reserved <- b.reserve(ctx, spec, l) }()
	made, diskErr := b.makeContainerDisk(ctx, l)
	if err := <-reserved; err != nil {
		if made {
			b.removeFolderQuietly(context.WithoutCancel(ctx), l.vmName)
		}
		return nil, err
	}
	defer b.unreserve(l.id)
	if diskErr != nil {
		b.removeFolderQuietly(context.WithoutCancel(ctx), l.vmName)
		return nil, fmt.Errorf("container %s: %w", l.id, diskErr)
	}
	vmSpec := b.vmConfigSpec(l)
	// The create adds one VM to the pool and changes nothing else: it is marked as that VM (changingOnly).
	ref, err := b.createVM(changingOnly(ctx, creating(l.id)), l.vmName, vmSpec)
	if err != nil {
		b.ctr.probes.created(creating(l.id), ref, nil)
		b.removeFolderQuietly(context.WithoutCancel(ctx), l.vmName)
		return nil, fmt.Errorf("container %s: %w", l.id, err)
	}
	c := b.createdVM(ref, vmSpec)
	b.ctr.probes.created(creating(l.id), ref, c)
	b.ctr.refs.Store(l.id, ref)
	b.ctr.removed.Delete(l.id) // an earlier container of this ID is not this one
	b.log.Info("created containerVM", "container", l.id, "name", l.name, "vm", l.vmName, "ref", ref.Value)
	b.publishContainer(c, "create", nil)
	return c, nil
}

// reserve checks the container's ID and name and plans its networks under the allocation lock, then holds
// them in ctr.creating until unreserve, so the disk and the VM are made without the lock: creates in this
// endpoint run side by side and still cannot both pass the check.
func (b *Backend) reserve(ctx context.Context, spec *models.ContainerSpec, l *containerVMLayout) error {
	b.ctr.createMu.Lock()
	defer b.ctr.createMu.Unlock()
	all, err := b.containerVMs(ctx)
	if err != nil {
		return err
	}
	if err := b.nameFree(all, l.id, l.name, ""); err != nil {
		return err
	}
	if err := b.planNetworks(ctx, spec, l, b.inUseLocked(all)); err != nil {
		return err
	}
	if b.ctr.creating == nil {
		b.ctr.creating = map[string]*containerVMLayout{}
	}
	b.ctr.creating[l.id] = l
	return nil
}

// unreserve ends a create's reservation: its VM, when it was made, now holds the name and addresses.
func (b *Backend) unreserve(id string) {
	b.ctr.createMu.Lock()
	delete(b.ctr.creating, id)
	b.ctr.createMu.Unlock()
}

// nameFree fails when the ID id is taken, or the name by a container other than self (a rename's own),
// among the VMs all and the creates in flight. Called with ctr.createMu held.
func (b *Backend) nameFree(all []*containerVM, id, name, self string) error {
	taken := func(otherID, otherName string) error {
		switch {
		case id != "" && otherID == id:
			return fmt.Errorf("container ID %s is already in use: %w", id, errdefs.ErrConflict)
		case otherName == name && otherID != self:
			return fmt.Errorf("container name %q is already in use by container %s: %w", name, otherID,
				errdefs.ErrConflict)
		}
		return nil
	}
	for _, c := range all {
		if err := taken(c.id(), c.name()); err != nil {
			return err
		}
	}
	for _, l := range b.ctr.creating {
		if err := taken(l.id, l.name); err != nil {
			return err
		}
	}
	return nil
}

// inUseLocked is the addresses and MACs of the VMs all and of the creates in flight. Called with
// ctr.createMu held.
func (b *Backend) inUseLocked(all []*containerVM) inUse {
	u := usedBy(all)
	for _, l := range b.ctr.creating {
		for _, ep := range l.endpoints {
			u.add(ep)
		}
	}
	return u
}

// layoutOf checks spec and fills in the defaults.
func (b *Backend) layoutOf(ctx context.Context, spec *models.ContainerSpec) (*containerVMLayout, error) {
	if spec == nil || spec.ID == nil || spec.Name == nil {
		return nil, fmt.Errorf("a container spec needs an id and a name: %w", errdefs.ErrInvalid)
	}
	id, name := *spec.ID, strings.TrimPrefix(*spec.Name, "/")
	if !containerIDPattern.MatchString(id) {
		return nil, fmt.Errorf("container ID %q is not 64 lowercase hex digits: %w", id, errdefs.ErrInvalid)
	}
	if name == "" || strings.ContainsAny(name, "/[]\\%") {
		return nil, fmt.Errorf("invalid container name %q: %w", name, errdefs.ErrInvalid)
	}
	if spec.Layer != "" {
		if err := checkLayerID("layer", spec.Layer); err != nil {
			return nil, err
		}
	}
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	if err := b.checkMounts(spec.Mounts); err != nil {
		return nil, err
	}
	volumes, mounts, err := b.planMounts(ctx, spec.Mounts)
	if err != nil {
		return nil, err
	}
	l := &containerVMLayout{
		id: id, name: name, layer: spec.Layer, vmName: vmNameOf(name, id), volumes: volumes, mounts: mounts,
		keys: backendKeys(spec), annotations: spec.Annotations,
		created:   time.Now().UTC().Format(time.RFC3339Nano),
		attachURI: "tcp://" + b.ctr.attach.advertise,
	}
	if r := spec.Resources; r != nil {
		if r.Cpus < 0 || r.MemoryMB < 0 {
			return nil, fmt.Errorf("negative cpus or memory: %w", errdefs.ErrInvalid)
		}
		l.cpus, l.memMB = r.Cpus, r.MemoryMB
	}
	if l.cpus == 0 {
		l.cpus = defaultCPUs
	}
	if l.memMB == 0 {
		l.memMB = defaultMemoryMB
	}
	return l, nil
}

// planNetworks gives the container its endpoints (addresses and MACs not in use by any container of all), its
// NICs, and the guest's configuration that says how to set them up. Called with the allocation lock held.
func (b *Backend) planNetworks(ctx context.Context, spec *models.ContainerSpec, l *containerVMLayout, used inUse) error {
	scopes, err := b.scopeMap(ctx)
	if err != nil {
		return err
	}
	for _, ask := range spec.Endpoints {
		s := scopes[*ask.Network]
		if s == nil {
			return fmt.Errorf("network %s not found: %w", *ask.Network, errdefs.ErrNotFound)
		}
		ep, err := b.planEndpoint(s, l.id, ask, used)
		if err != nil {
			return err
		}
		backing, err := b.nicBacking(ctx, s.PortGroup)
		if err != nil {
			return err
		}
		l.endpoints = append(l.endpoints, ep)
		l.nics = append(l.nics, nicSpec{mac: ep.MAC, backing: backing})
	}
	if err := b.checkPorts(spec.Ports, l.endpoints, scopes); err != nil {
		return err
	}
	if raw := encodeEndpoints(l.endpoints); raw != "" {
		l.keys[keyEndpoints] = raw
	}
	var asked []string
	if spec.DNS != nil {
		asked = spec.DNS.Servers
	}
	cfg := guestConfig(spec, l.id, l.name, l.mounts, guestNetworks(l.endpoints, scopes, spec.Ports), b.guestDNS(l.endpoints, scopes, asked))
	guest, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode the guest's configuration: %w: %w", errdefs.ErrSystem, err)
	}
	l.config = string(guest)
	return nil
}

// makeContainerDisk creates `<vm>/<id>.vmdk` as a child of the layer's disk (or scratch), the way the image
// store chains its layers, and gives it its contents directory: the empty writable upper layer. made says
// it created the VM's folder (which did not exist).
func (b *Backend) makeContainerDisk(ctx context.Context, l *containerVMLayout) (made bool, _ error) {
	data, err := b.prepareLayers(ctx)
	if err != nil {
		return false, err
	}
	var parent *Descriptor
	parentRel := LayerDescriptor(b.cfg.VCHName, ScratchID)
	if l.layer == "" {
		parent, err = b.ensureScratch(ctx, data)
	} else {
		parentRel = LayerDescriptor(b.cfg.VCHName, l.layer)
		var f *layerFile
		if f, err = b.layerFile(ctx, l.layer); err == nil { // only complete layers have their record
			parent, err = b.layerDescriptor(ctx, f)
		}
	}
	if err != nil {
		return false, fmt.Errorf("the image's layer %s: %w", l.layer, err)
	}
	// The VM's folder is at the datastore's root, which exists. On a datastore whose files are on this
	// machine it is made here, as the disk is, rather than by a MakeDirectory round trip.
	if local, ok := data.(*localDiskData); ok {
		made, err = local.mkdir(l.vmName)
	} else {
		made, err = b.imageFiles().mkdir(ctx, l.vmName)
	}
	if err != nil {
		return false, err
	}
	// The hint is relative to the child's folder, so the chain survives the datastore being mounted elsewhere.
	hint := path.Join(strings.Repeat("../", strings.Count(l.vmName, "/")+1), parentRel)
	if _, err := b.createDisk(ctx, l.disk(), parent, hint); err != nil {
		return made, err
	}
	// On real vSphere the child disk already shows its parent's filesystem, so there is nothing to format.
	return made, data.format(ctx, b.where.datastore.Path(l.disk()))
}

// createVM makes the VM of spec, named vmName, in the datacenter's VM folder and the VCH pool.
func (b *Backend) createVM(ctx context.Context, vmName string, spec types.VirtualMachineConfigSpec) (types.ManagedObjectReference, error) {
	var task *object.Task
	var err error
	if b.where.isVApp() {
		task, err = object.NewVirtualApp(b.sess.client, b.where.pool.Reference()).CreateChildVM(ctx, spec, nil)
	} else {
		var folder *object.Folder
		if folder, err = b.vmFolder(ctx); err != nil {
			return types.ManagedObjectReference{}, err
		}
		task, err = folder.CreateVM(ctx, spec, b.where.pool, nil)
	}
	if err != nil {
		return types.ManagedObjectReference{}, classify(err, "create VM "+vmName)
	}
	res, err := vtask.Wait(ctx, task)
	if err != nil {
		return types.ManagedObjectReference{}, classify(err, "create VM "+vmName)
	}
	ref, ok := res.Result.(types.ManagedObjectReference)
	if !ok {
		return ref, fmt.Errorf("create VM %s: unexpected result %T: %w", vmName, res.Result, errdefs.ErrSystem)
	}
	return ref, nil
}

// createdVM is the containerVM that CreateVM just made from spec, as a read of it would describe it (the
// properties of vmProperties), without reading it: a new VM is powered off, and has the name, the .vmx path
// (explicit, so vSphere picks no other folder), the size, the hot-add settings and the extraConfig of its
// spec. vSphere drops an extraConfig key whose value is empty, so it is left out here too; vSphere's own
// keys are none of the endpoint's. TestCreateAnswersAsARead compares the two.
func (b *Backend) createdVM(ref types.ManagedObjectReference, spec types.VirtualMachineConfigSpec) *containerVM {
	c := &containerVM{ref: ref, vmName: spec.Name, power: types.VirtualMachinePowerStatePoweredOff,
		cpus: int64(spec.NumCPUs), memMB: spec.MemoryMB, extra: map[string]string{}, decoded: &specOnce{}}
	if spec.Files != nil {
		c.vmx = spec.Files.VmPathName
	}
	c.hotCPU = spec.CpuHotAddEnabled != nil && *spec.CpuHotAddEnabled
	c.hotMemory = spec.MemoryHotAddEnabled != nil && *spec.MemoryHotAddEnabled
	for _, ov := range spec.ExtraConfig {
		if o := ov.GetOptionValue(); o != nil {
			if v, ok := o.Value.(string); ok && v != "" {
				c.extra[o.Key] = v
			}
		}
	}
	if id := c.id(); id != "" && c.vmx != "" {
		b.ctr.folders.LoadOrStore(id, c.folder())
	}
	return c // a new VM has not booted: no start of it can be under way (withStart)
}

// vmFolder is the datacenter's VM folder, looked up once: a datacenter keeps its VM folder for life.
func (b *Backend) vmFolder(ctx context.Context) (*object.Folder, error) {
	if f := b.ctr.vmFolder.Load(); f != nil {
		return f, nil
	}
	folders, err := b.where.datacenter.Folders(ctx)
	if err != nil {
		return nil, classify(err, "find the VM folder of "+b.where.datacenter.InventoryPath)
	}
	b.ctr.vmFolder.Store(folders.VmFolder)
	return folders.VmFolder, nil
}

// vmObject is the govmomi handle of a containerVM.
func (b *Backend) vmObject(c *containerVM) *object.VirtualMachine {
	return object.NewVirtualMachine(b.sess.client, c.ref)
}

// reconfigure applies spec to the containerVM and waits for it.
func (b *Backend) reconfigure(ctx context.Context, c *containerVM, spec types.VirtualMachineConfigSpec) error {
	ctx = changingOnly(ctx, c.ref)
	task, err := b.vmObject(c).Reconfigure(ctx, spec)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	return classify(err, "reconfigure "+c.vmName)
}
