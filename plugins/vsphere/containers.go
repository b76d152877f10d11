package vsphere

import (
	"context"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// A containerVM keeps everything about its container in extraConfig (DESIGN §4): the endpoint's keys under
// wire.ConfigPrefix, the guest's under wire.GuestPrefix. The inventory is the only record: nothing here is
// believed without asking it (a listing reuses a VM's last full read only when the VM's changeVersion, read
// in the same request, says it is current: vm_reads.go), so a restarted endpoint, or another one, sees the
// same containers.
const (
	keyName        = wire.ConfigPrefix + "name"
	keyLayer       = wire.ConfigPrefix + "layer"
	keyCreated     = wire.ConfigPrefix + "created"
	keyBoot        = wire.ConfigPrefix + "boot"
	keyAnnotations = wire.ConfigPrefix + "annotations"
)

// Container states reported in models.ContainerState.Status.
const (
	statusCreated = "created"
	statusRunning = "running"
	statusPaused  = "paused"
	statusExited  = "exited"
)

// exitKilled is the exit code of a process that died with its VM (powered off without the guest reporting):
// Docker's code for SIGKILL.
const exitKilled = 137

// containerIDPattern is the port layer's container ID; checking it keeps an ID from naming anything else.
var containerIDPattern = regexp.MustCompile(`^[a-f0-9]{64}$`)

// vmProperties are what a container's description needs, read in one retrieval.
var vmProperties = []string{"name", "config.extraConfig", "config.files.vmPathName", "config.hardware.numCPU",
	"config.hardware.memoryMB", "config.cpuHotAddEnabled", "config.memoryHotAddEnabled", "runtime.powerState"}

// containerVM is one containerVM as the inventory described it at one moment.
type containerVM struct {
	ref    types.ManagedObjectReference
	vmName string
	vmx    string // "[ds] <vm-folder>/<vm>.vmx"; the folder keeps its first name across renames
	power  types.VirtualMachinePowerState
	cpus   int64
	memMB  int64
	// hotCPU and hotMemory say whether vSphere adds vCPUs and memory to the VM while it runs.
	hotCPU, hotMemory bool
	extra             map[string]string
	// poweringOn says this process counted the VM's current boot and has not finished powering it on:
	// a VM off without a status of that boot is starting, not dead (containerRuntime.starting).
	poweringOn bool
	// decoded is the spec of this read, decoded once for every copy of it (vm_reads.go).
	decoded *specOnce
	// version is the config.changeVersion of readVM's read, "" otherwise.
	version string
	// seq orders the reads of this process (readVM): a read with a higher seq began after one with a lower,
	// so it saw every change the other saw. Listings leave it 0.
	seq uint64
}

// clone is a copy of c whose extraConfig can be changed without changing c's (the rest is values, or shared
// and never changed: the decoded spec).
func (c *containerVM) clone() *containerVM {
	k := *c
	k.extra = maps.Clone(c.extra)
	return &k
}

func newContainerVM(m *mo.VirtualMachine) *containerVM {
	c := &containerVM{ref: m.Self, vmName: m.Name, power: m.Runtime.PowerState, extra: map[string]string{},
		decoded: &specOnce{}}
	if m.Config == nil {
		return c
	}
	c.vmx = m.Config.Files.VmPathName
	c.cpus, c.memMB = int64(m.Config.Hardware.NumCPU), int64(m.Config.Hardware.MemoryMB)
	c.hotCPU = m.Config.CpuHotAddEnabled != nil && *m.Config.CpuHotAddEnabled
	c.hotMemory = m.Config.MemoryHotAddEnabled != nil && *m.Config.MemoryHotAddEnabled
	for _, ov := range m.Config.ExtraConfig {
		if o := ov.GetOptionValue(); o != nil {
			if s, ok := o.Value.(string); ok {
				c.extra[o.Key] = s
			}
		}
	}
	return c
}

func (c *containerVM) id() string   { return c.extra[wire.KeyID] }
func (c *containerVM) name() string { return c.extra[keyName] }

func (c *containerVM) boot() int {
	n, _ := strconv.Atoi(c.extra[keyBoot])
	return n
}

// folder is the VM's folder, relative to the datastore root.
func (c *containerVM) folder() string {
	var p object.DatastorePath
	p.FromString(c.vmx)
	return path.Dir(p.Path)
}

// guestStatus is the status the guest wrote during the current boot, or nil: a status from an earlier boot
// describes a process that no longer exists.
func (c *containerVM) guestStatus() *wire.GuestStatus {
	raw, ok := c.extra[wire.KeyStatus]
	if !ok || raw == "" {
		return nil
	}
	st, ok := c.decoded.statusOf(raw)
	if !ok || st.Boot != c.boot() {
		return nil
	}
	return &st
}

// on says the VM holds a live guest: powered on, or suspended (paused) with its guest where it stopped.
func (c *containerVM) on() bool {
	return c.power == types.VirtualMachinePowerStatePoweredOn || c.paused()
}

// paused says the VM is suspended: its guest is frozen, and answers nothing until it is powered on again.
func (c *containerVM) paused() bool { return c.power == types.VirtualMachinePowerStateSuspended }

// state derives the container's state from the power state and the guest's status of this boot.
func (c *containerVM) state() *models.ContainerState {
	st := &models.ContainerState{Boot: int64(c.boot())}
	gs := c.guestStatus()
	status := statusExited
	switch {
	case st.Boot == 0 && !c.on():
		status = statusCreated
	case c.paused():
		// Docker's paused container is running too.
		status, st.Running, st.Paused = statusPaused, true, true
	case (c.on() || c.poweringOn) && (gs == nil || gs.State != wire.StateExited):
		// Powered on (or being powered on for this boot) and not yet reported exited: "starting" is running
		// as far as Docker is concerned.
		status, st.Running = statusRunning, true
	case gs != nil && gs.State == wire.StateExited:
		st.ExitCode, st.Error = int64(gs.ExitCode), gs.Error
		st.FinishedAt = rfc3339(gs.FinishedAt)
	default:
		// Powered off while the guest said it ran, or before it said anything: the process died with its VM.
		st.ExitCode = exitKilled
	}
	st.Status = &status
	if gs != nil {
		st.Pid = int64(gs.Pid)
		st.StartedAt = rfc3339(gs.StartedAt)
	}
	return st
}

// info is the port layer's description of the container.
func (b *Backend) info(c *containerVM) *models.ContainerInfo { return b.infoIn(c, b.knownScopes()) }

// infoIn is info with the networks known (knownScopes), read once for a listing.
func (b *Backend) infoIn(c *containerVM, scopes map[string]*scope) *models.ContainerInfo {
	id, name := c.id(), c.name()
	state := c.state()
	b.withStarted(c, state)
	return &models.ContainerInfo{
		ID:               &id,
		Name:             &name,
		VM:               c.ref.String(),
		VMName:           c.vmName,
		Disk:             b.where.datastore.Path(path.Join(c.folder(), id+".vmdk")),
		LogFile:          b.localLogFile(c),
		Created:          c.extra[keyCreated],
		State:            state,
		Spec:             c.readSpec(),
		Endpoints:        c.endpointInfos(scopes),
		Ports:            c.portsBoundIn(state),
		Tasks:            c.taskIDs(),
		PendingResources: c.pendingResources(),
	}
}

// localLogFile is where this machine's filesystem has c's output log, when the datastore is here (the
// simulator's): a client here may read it where it is (models.ContainerInfo's logFile).
func (b *Backend) localLogFile(c *containerVM) string {
	l := b.layers.local.Load()
	if l == nil {
		return ""
	}
	p, err := l.local(b.where.datastore.Path(path.Join(c.folder(), outputLog)))
	if err != nil {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return ""
}

// endpointInfos describes the container's endpoints.
func (c *containerVM) endpointInfos(scopes map[string]*scope) []*models.EndpointInfo {
	var out []*models.EndpointInfo
	for _, ep := range c.decoded.endpointsOf(c.extra[keyEndpoints]) {
		out = append(out, endpointInfo(ep, scopes[ep.Network]))
	}
	return out
}

// boundPorts are the ports published for the container while it runs.
func (c *containerVM) boundPorts() []*models.PortBinding { return c.portsBoundIn(c.state()) }

// portsBoundIn are the ports published for the container in state st (c.state()).
func (c *containerVM) portsBoundIn(st *models.ContainerState) []*models.PortBinding {
	if !st.Running {
		return nil
	}
	return decodePorts(c.extra[keyPortsBound])
}

// matches says whether c passes filter.
func (c *containerVM) matches(f sdk.ListFilter) bool {
	if len(f.Names) > 0 && !slices.Contains(f.Names, c.name()) {
		return false
	}
	if len(f.IDs) > 0 && !slices.ContainsFunc(f.IDs, func(p string) bool { return strings.HasPrefix(c.id(), p) }) {
		return false
	}
	return len(f.Statuses) == 0 || slices.Contains(f.Statuses, *c.state().Status)
}

// containerVMs reads every containerVM of the VCH pool (poolVMs), leaving out VMs that are not containers,
// such as the endpoint VM.
func (b *Backend) containerVMs(ctx context.Context) ([]*containerVM, error) {
	vms, err := b.poolVMs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*containerVM, 0, len(vms))
	present := make(map[string]bool, len(vms))
	for _, vm := range vms {
		if c := b.withStart(vm); c.id() != "" {
			out = append(out, c)
			b.ctr.refs.Store(c.id(), c.ref)
			present[c.id()] = true
		}
	}
	b.ctr.folders.Range(func(id, _ any) bool {
		if !present[id.(string)] {
			b.ctr.folders.Delete(id)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].extra[keyCreated] < out[j].extra[keyCreated] })
	return out, nil
}

// containerVM finds the container id; a container that does not exist is errdefs.ErrNotFound.
func (b *Backend) containerVM(ctx context.Context, id string) (*containerVM, error) {
	return b.findContainerVM(ctx, id, b.readVM)
}

// describedContainerVM is containerVM for a description of the container (GetContainer): a VM read before is
// probed, and read in full only when it changed (describeVM).
func (b *Backend) describedContainerVM(ctx context.Context, id string) (*containerVM, error) {
	return b.findContainerVM(ctx, id, b.describeVM)
}

// findContainerVM finds the container id, reading a VM it knows with read.
func (b *Backend) findContainerVM(ctx context.Context, id string,
	read func(context.Context, types.ManagedObjectReference) (*containerVM, error)) (*containerVM, error) {
	if !containerIDPattern.MatchString(id) {
		return nil, fmt.Errorf("container ID %q is not 64 lowercase hex digits: %w", id, errdefs.ErrInvalid)
	}
	if ref, ok := b.ctr.refs.Load(id); ok {
		c, err := read(ctx, ref.(types.ManagedObjectReference))
		switch {
		case err == nil && c.id() == id:
			return c, nil
		case err == nil || isGone(err):
			b.ctr.refs.Delete(id) // stale: look the container up in the pool
		default:
			return nil, err
		}
	}
	all, err := b.containerVMs(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.id() == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no such container: %s: %w", id, errdefs.ErrNotFound)
}

// readVM re-reads one containerVM; a VM that is gone is errdefs.ErrNotFound.
func (b *Backend) readVM(ctx context.Context, ref types.ManagedObjectReference) (*containerVM, error) {
	seq := b.ctr.readSeq.Add(1)
	var m mo.VirtualMachine
	if err := b.collector().RetrieveOne(ctx, ref, fullProperties, &m); err != nil {
		return nil, classify(err, "read "+ref.String())
	}
	c := b.keepRead(&m)
	c.seq = seq
	c = b.withStart(c)
	if m.Config != nil {
		c.version = m.Config.ChangeVersion
		b.ctr.probes.observe(probeOf(c, c.version), seq)
	}
	return c, nil
}

// ListContainers lists the VCH's containers that pass filter, oldest first.
func (b *Backend) ListContainers(ctx context.Context, filter sdk.ListFilter) ([]*models.ContainerInfo, error) {
	all, err := b.containerVMs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*models.ContainerInfo, 0, len(all))
	scopes := b.knownScopes()
	for _, c := range all {
		if c.matches(filter) {
			out = append(out, b.infoIn(c, scopes))
		}
	}
	return out, nil
}

// GetContainer describes one container.
func (b *Backend) GetContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	c, err := b.describedContainerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	return b.info(c), nil
}
