package vsphere

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// Listing the pool reads what each VM's description needs in two steps, so the bulk of it (a containerVM's
// whole extraConfig: its guest's configuration and Docker's records) crosses vSphere's serialisations only
// when it changed:
//
//  1. a probe of every VM of the pool: its name, power state, config.changeVersion and the one extraConfig
//     key the guest writes (wire.KeyStatus), read by key;
//  2. a full read (vmProperties) of the VMs whose changeVersion is not the one of their last full read.
//
// A VM whose changeVersion is unchanged is described from its last full read, with the name, power state
// and guest status of the probe. That is what a full read would say: vSphere gives a VM a new
// config.changeVersion with every change of its configuration (ReconfigVM_Task, which is how the endpoint
// writes every key it keeps there, and how the emulator writes the guest's), and what can change without
// one (the power state, the name, and the key the guest sets through VMware Tools) is in the probe itself.
// So the last reads are not a cache that can be stale: each answer is checked against vSphere in the same
// request, and nothing else (the watch, events) feeds them.

// probeProperties tell whether the last full read of a VM still describes it, and carry what can change
// without a new config.changeVersion.
var probeProperties = []string{"name", propChangeVersion, "runtime.powerState", statusProperty}

const (
	propChangeVersion = "config.changeVersion"
	// statusProperty is the guest's status alone: vSphere's property paths select an extraConfig entry by
	// its key, so the probe never carries the rest of extraConfig.
	statusProperty = `config.extraConfig["` + wire.KeyStatus + `"]`
)

// fullProperties are vmProperties with the version they were read at, in the same retrieval.
var fullProperties = append(append([]string(nil), vmProperties...), propChangeVersion)

// vmReads are the last full reads of the pool's VMs, by reference, each with the config.changeVersion it
// was read at. Entries are never handed out: readers get copies.
type vmReads struct {
	mu sync.Mutex
	m  map[types.ManagedObjectReference]vmRead
	// noProbe is set once the server refused the probe with a fault (a vSphere that does not select an
	// extraConfig entry by key): listings read the pool in full from then on.
	noProbe atomic.Bool
}

type vmRead struct {
	version string
	c       *containerVM
}

// keep records c, read fully at version; an empty version (a VM without a configuration yet) is not kept.
func (r *vmReads) keep(version string, c *containerVM) {
	if version == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[types.ManagedObjectReference]vmRead{}
	}
	r.m[c.ref] = vmRead{version: version, c: c}
}

// current returns a copy of the last full read of ref when it was read at version.
func (r *vmReads) current(ref types.ManagedObjectReference, version string) (*containerVM, bool) {
	if version == "" {
		return nil, false
	}
	r.mu.Lock()
	e, ok := r.m[ref]
	r.mu.Unlock()
	if !ok || e.version != version {
		return nil, false
	}
	c := e.c.clone()
	c.poweringOn = false
	return c, true
}

// has says a full read of ref is kept.
func (r *vmReads) has(ref types.ManagedObjectReference) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.m[ref]
	return ok
}

// retain forgets the VMs that are not in present (gone from the pool).
func (r *vmReads) retain(present map[types.ManagedObjectReference]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ref := range r.m {
		if !present[ref] {
			delete(r.m, ref)
		}
	}
}

// vmProbe is one VM as the probe saw it.
type vmProbe struct {
	ref       types.ManagedObjectReference
	name      string
	version   string
	power     types.VirtualMachinePowerState
	status    string
	hasStatus bool
}

func newVMProbe(oc types.ObjectContent) vmProbe {
	p := vmProbe{ref: oc.Obj}
	for _, dp := range oc.PropSet {
		switch dp.Name {
		case "name":
			p.name, _ = dp.Val.(string)
		case propChangeVersion:
			p.version, _ = dp.Val.(string)
		case "runtime.powerState":
			p.power, _ = dp.Val.(types.VirtualMachinePowerState)
		case statusProperty:
			// vSphere answers a keyed path with the OptionValue itself; a key the VM does not have is
			// absent (or nil).
			switch o := dp.Val.(type) {
			case types.OptionValue:
				p.status, p.hasStatus = o.Value.(string)
			case types.BaseOptionValue:
				if ov := o.GetOptionValue(); ov != nil {
					p.status, p.hasStatus = ov.Value.(string)
				}
			}
		}
	}
	return p
}

// describe is the VM p probed, from its last full read, with what the probe says can change apart from
// the version; false when there is no full read at p's version.
func (r *vmReads) describe(p vmProbe) (*containerVM, bool) {
	c, ok := r.current(p.ref, p.version)
	if !ok {
		return nil, false
	}
	c.vmName, c.power = p.name, p.power
	if p.hasStatus {
		c.extra[wire.KeyStatus] = p.status
	} else {
		delete(c.extra, wire.KeyStatus)
	}
	return c, true
}

// describeVM is readVM for a VM read in full before: a probe of that VM alone, described from its last full
// read when its changeVersion is the one of that read (as a listing describes it), else read in full. The
// probe carries four small properties where a full read carries the VM's whole extraConfig, three times
// serialised; what it says is what a full read would say at that moment (the listing's argument above).
// An answer (docker inspect, docker logs) may come from a kept probe (vm_probes.go); probeVM, for the
// decisions that must see what vSphere says now (a removal's "is it running"), always probes.
func (b *Backend) describeVM(ctx context.Context, ref types.ManagedObjectReference) (*containerVM, error) {
	if c, ok := b.newborn(ref); ok {
		return c, nil
	}
	if p, seq, found := b.ctr.probes.one(ref); found && !b.ctr.reads.noProbe.Load() {
		// The last probe of the pool or of this VM is still what vSphere would say.
		if c, ok := b.ctr.reads.describe(p); ok {
			c.seq = seq
			return b.withStart(c), nil
		}
	}
	return b.probeVM(ctx, ref)
}

// newborn is the VM this process has just created, as its create described it, while that is still what a
// read would say (poolProbes.newborn), with the readSeq of a read begun now.
func (b *Backend) newborn(ref types.ManagedObjectReference) (*containerVM, bool) {
	seq := b.ctr.readSeq.Add(1)
	c, ok := b.ctr.probes.newborn(ref)
	if !ok {
		return nil, false
	}
	c.seq = seq
	return b.withStart(c), true
}

// readVMOrNewborn is readVM, answered without a round trip for a VM this process has just created
// (newborn).
func (b *Backend) readVMOrNewborn(ctx context.Context, ref types.ManagedObjectReference) (*containerVM, error) {
	if c, ok := b.newborn(ref); ok {
		return c, nil
	}
	return b.readVM(ctx, ref)
}

// probeVM is describeVM without the kept probes.
func (b *Backend) probeVM(ctx context.Context, ref types.ManagedObjectReference) (*containerVM, error) {
	if b.ctr.reads.noProbe.Load() || !b.ctr.reads.has(ref) {
		return b.readVM(ctx, ref)
	}
	start := b.beginProbe()
	seq := start.seq
	res, err := b.collector().RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{Obj: ref}},
		PropSet:   []types.PropertySpec{{Type: "VirtualMachine", PathSet: probeProperties}},
	}}})
	if err != nil {
		if refusedPath(err) {
			b.ctr.reads.noProbe.Store(true)
			b.log.Info("the server refused the probe of a VM: reads of VMs are full from now on", "err", err)
			return b.readVM(ctx, ref)
		}
		return nil, classify(err, "read "+ref.String())
	}
	if len(res.Returnval) == 1 {
		p := newVMProbe(res.Returnval[0])
		b.ctr.probes.keepOne(start, p)
		if c, ok := b.ctr.reads.describe(p); ok {
			c.seq = seq
			return b.withStart(c), nil
		}
	}
	return b.readVM(ctx, ref)
}

// poolVMs reads every VM of the VCH pool: a probe of all of them, then a full read of those whose
// configuration changed since their last full read. VMs that are not containers are included.
func (b *Backend) poolVMs(ctx context.Context) ([]*containerVM, error) {
	if b.ctr.reads.noProbe.Load() {
		return b.readPool(ctx)
	}
	probes, seq, kept := b.ctr.probes.current()
	if !kept {
		if b.log.Enabled(ctx, slog.LevelDebug) {
			b.log.Debug("probing the pool", "why", b.ctr.probes.notKept())
		}
		start := b.beginProbe()
		seq = start.seq
		var err error
		if probes, err = b.probePool(ctx); err != nil {
			// A server that refuses the probe (its keyed path) still answers the full read of the pool.
			if refusedPath(err) {
				b.ctr.reads.noProbe.Store(true)
				b.log.Info("the server refused the probe of the pool's VMs: listings read them in full", "err", err)
			}
			return b.readPool(ctx)
		}
		b.ctr.probes.keep(start, probes)
	}
	out := make([]*containerVM, 0, len(probes))
	present := make(map[types.ManagedObjectReference]bool, len(probes))
	var changed []types.ManagedObjectReference
	for _, p := range probes {
		present[p.ref] = true
		if c, ok := b.ctr.reads.describe(p); ok {
			c.seq = seq
			out = append(out, c)
		} else {
			changed = append(changed, p.ref)
		}
	}
	if !kept {
		b.ctr.reads.retain(present)
	}
	if len(changed) == 0 {
		return out, nil
	}
	read, err := b.readVMs(ctx, changed)
	if err != nil {
		return nil, err
	}
	return append(out, read...), nil
}

// readPool reads fullProperties of every VM of the pool in one retrieval, and keeps each read.
func (b *Backend) readPool(ctx context.Context) ([]*containerVM, error) {
	seq := b.ctr.readSeq.Add(1)
	res, err := b.collector().RetrieveProperties(ctx, b.poolRetrieval(fullProperties))
	if err != nil {
		return nil, classify(err, "list the containerVMs of pool "+b.where.pool.InventoryPath)
	}
	var vms []mo.VirtualMachine
	if err := mo.LoadObjectContent(res.Returnval, &vms); err != nil {
		return nil, classify(err, "read the containerVMs of pool "+b.where.pool.InventoryPath)
	}
	out := make([]*containerVM, 0, len(vms))
	for i := range vms {
		c := b.keepRead(&vms[i])
		c.seq = seq
		out = append(out, c)
	}
	return out, nil
}

// poolRetrieval retrieves props of every VM of the pool (the pool's "vm" property traversed to the VMs).
func (b *Backend) poolRetrieval(props []string) types.RetrieveProperties {
	return types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{{
		ObjectSet: []types.ObjectSpec{{
			Obj:       b.where.pool.Reference(),
			Skip:      types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: b.where.pool.Reference().Type, Path: "vm"}},
		}},
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: props}},
	}}}
}

// refusedPath says err is vSphere refusing a property path of the request (rather than failing it for
// another reason, such as a lost session).
func refusedPath(err error) bool {
	var fault types.AnyType
	switch {
	case soap.IsSoapFault(err):
		fault = soap.ToSoapFault(err).VimFault()
	case soap.IsVimFault(err):
		fault = soap.ToVimFault(err)
	}
	switch fault.(type) {
	case *types.InvalidProperty, types.InvalidProperty, *types.InvalidArgument, types.InvalidArgument:
		return true
	}
	return false
}

// probePool reads probeProperties of every VM of the pool in one retrieval; its error is vSphere's own.
func (b *Backend) probePool(ctx context.Context) ([]vmProbe, error) {
	res, err := b.collector().RetrieveProperties(ctx, b.poolRetrieval(probeProperties))
	if err != nil {
		return nil, err // the fault as it came, for poolVMs to tell a refusal
	}
	out := make([]vmProbe, 0, len(res.Returnval))
	for _, oc := range res.Returnval {
		out = append(out, newVMProbe(oc))
	}
	return out, nil
}

// readVMs reads fullProperties of refs in one retrieval and keeps each read with its version. A VM gone
// meanwhile is left out.
func (b *Backend) readVMs(ctx context.Context, refs []types.ManagedObjectReference) ([]*containerVM, error) {
	spec := types.PropertyFilterSpec{
		PropSet: []types.PropertySpec{{Type: "VirtualMachine", PathSet: fullProperties}},
		// A VM destroyed since the probe is reported in its result rather than failing the whole read.
		ReportMissingObjectsInResults: types.NewBool(true),
	}
	for _, ref := range refs {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: ref})
	}
	seq := b.ctr.readSeq.Add(1)
	res, err := b.collector().RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{spec}})
	if err != nil {
		return nil, classify(err, "read the containerVMs of pool "+b.where.pool.InventoryPath)
	}
	var vms []mo.VirtualMachine
	if err := mo.LoadObjectContent(slices.DeleteFunc(res.Returnval, objectGone), &vms); err != nil {
		return nil, classify(err, "read the containerVMs of pool "+b.where.pool.InventoryPath)
	}
	out := make([]*containerVM, 0, len(vms))
	for i := range vms {
		c := b.keepRead(&vms[i])
		c.seq = seq
		out = append(out, c)
	}
	return out, nil
}

// specOnce is the spec of one full read of a VM, decoded at its first use. The copies of the read share it:
// the spec is made of the keys the endpoint writes and of the VM's size, which a new read brings when they
// change (a new changeVersion), never of what the probe refreshes (the power state, the VM's name, the
// guest's status). Answers share it too, and only read it.
type specOnce struct {
	once sync.Once
	spec *models.ContainerSpec

	// The guest's status and the endpoints as last decoded for a copy of this read, by their text: the
	// probe refreshes the status of a copy, so each is decoded again whenever its text differs.
	mu        sync.Mutex
	statusRaw string
	status    wire.GuestStatus
	statusOK  bool
	epsRaw    string
	eps       []endpointRecord
}

// statusOf decodes raw, a guest status, once per text for the copies of a read; d may be nil.
func (d *specOnce) statusOf(raw string) (wire.GuestStatus, bool) {
	if d != nil {
		d.mu.Lock()
		st, ok, hit := d.status, d.statusOK, d.statusRaw == raw
		d.mu.Unlock()
		if hit {
			return st, ok
		}
	}
	var st wire.GuestStatus
	ok := json.Unmarshal([]byte(raw), &st) == nil
	if d != nil {
		d.mu.Lock()
		d.statusRaw, d.status, d.statusOK = raw, st, ok
		d.mu.Unlock()
	}
	return st, ok
}

// endpointsOf decodes raw, a container's endpoint records, once per text for the copies of a read; the
// records returned are shared and only read.
func (d *specOnce) endpointsOf(raw string) []endpointRecord {
	if raw == "" {
		return nil
	}
	if d != nil {
		d.mu.Lock()
		eps, hit := d.eps, d.epsRaw == raw
		d.mu.Unlock()
		if hit {
			return eps
		}
	}
	var eps []endpointRecord
	_ = json.Unmarshal([]byte(raw), &eps)
	if d != nil {
		d.mu.Lock()
		d.epsRaw, d.eps = raw, eps
		d.mu.Unlock()
	}
	return eps
}

// readSpec is c.spec(), decoded once per full read of the VM.
func (c *containerVM) readSpec() *models.ContainerSpec {
	if c.decoded == nil {
		return c.spec()
	}
	c.decoded.once.Do(func() { c.decoded.spec = c.spec() })
	return c.decoded.spec
}

// objectGone says oc reports its object missing (ReportMissingObjectsInResults).
func objectGone(oc types.ObjectContent) bool {
	for _, m := range oc.MissingSet {
		if _, ok := m.Fault.Fault.(*types.ManagedObjectNotFound); ok {
			return true
		}
	}
	return false
}

// keepRead makes the containerVM of a full read of m and keeps a copy of it with m's version.
func (b *Backend) keepRead(m *mo.VirtualMachine) *containerVM {
	c := newContainerVM(m)
	if id := c.id(); id != "" && c.vmx != "" {
		b.ctr.folders.LoadOrStore(id, c.folder())
	}
	if m.Config != nil {
		b.ctr.reads.keep(m.Config.ChangeVersion, c.clone())
	}
	return c
}
