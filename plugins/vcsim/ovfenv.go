package vcsim

import (
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
)

// OVFEnvKey is the one guestinfo key ESXi leaves out of every API read of a VM's extraConfig while still
// keeping it in the VM's .vmx file and handing it to the guest (it carries the OVF environment; VIC kept
// its secret key there, and vice keeps the endpoint VM's private key there: installer/vchwire).
const OVFEnvKey = vmxfile.OVFEnv

// EmulateOVFEnv makes a simulator treat OVFEnvKey as ESXi does, which govmomi's simulator does not: the key
// of a create or reconfigure spec goes to the VM's .vmx file on its datastore and never into the VM's
// extraConfig, so no property read shows it, while the hypervisor emulator reads it from the file
// (plugins/vcsim/emulator) as ESXi's VMX does. Datastores must be local directories, as vcsim's are.
func EmulateOVFEnv(r *simulator.Registry, log *slog.Logger) {
	k := &ovfEnv{self: types.ManagedObjectReference{Type: "ViceOVFEnv", Value: "ovfenv"}, log: log, pending: map[string]string{}}
	next := r.Handler
	r.Handler = func(ctx *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if f := k.strip(ctx, m); f != nil {
			return nil, f
		}
		if next != nil {
			return next(ctx, m)
		}
		return nil, nil
	}
	r.AddHandler(k)
}

// ovfEnv keeps the key of VMs being created until their .vmx exists: the create makes the file itself and
// refuses to find one there already.
type ovfEnv struct {
	self    types.ManagedObjectReference
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]string // the .vmx's datastore path → the value
}

// strip takes the key out of the specs of the calls that set extraConfig. A reconfigure whose key cannot
// be written fails as ESXi's would.
func (k *ovfEnv) strip(ctx *simulator.Context, m *simulator.Method) types.BaseMethodFault {
	switch req := m.Body.(type) {
	case *types.CreateVM_Task:
		k.creating(&req.Config)
	case *types.CreateChildVM_Task:
		k.creating(&req.Config)
	case *types.ReconfigVM_Task:
		v, ok := take(&req.Spec)
		if !ok {
			return nil
		}
		vm, ok := ctx.Map.Get(m.This).(*simulator.VirtualMachine)
		if !ok {
			return nil // the simulator answers that the VM is not there
		}
		var vmx string
		ctx.WithLock(vm, func() {
			if vm.Config != nil {
				vmx = vm.Config.Files.VmPathName
			}
		})
		if err := k.write(ctx, vmx, v); err != nil {
			k.log.Warn("write guestinfo.ovfEnv", "vmx", vmx, "err", err)
			return &types.FileFault{File: vmx}
		}
	}
	return nil
}

// creating records the key of a VM about to be made, under the .vmx path the simulator will give it.
func (k *ovfEnv) creating(spec *types.VirtualMachineConfigSpec) {
	v, ok := take(spec)
	if !ok || spec.Files == nil {
		return
	}
	var p object.DatastorePath
	if !p.FromString(spec.Files.VmPathName) {
		return
	}
	if path.Ext(p.Path) != ".vmx" { // a folder: the simulator puts <folder or name>/<name>.vmx in it
		dir := p.Path
		if dir == "" {
			dir = spec.Name
		}
		p.Path = path.Join(dir, spec.Name+".vmx")
	}
	k.mu.Lock()
	k.pending[p.String()] = v
	k.mu.Unlock()
}

// take removes the key from spec's extraConfig and returns its value (found even when it is empty, which
// removes it).
func take(spec *types.VirtualMachineConfigSpec) (string, bool) {
	value, found := "", false
	kept := spec.ExtraConfig[:0]
	for _, o := range spec.ExtraConfig {
		if ov := o.GetOptionValue(); ov != nil && strings.EqualFold(ov.Key, OVFEnvKey) {
			value, _ = ov.Value.(string)
			found = true
			continue
		}
		kept = append(kept, o)
	}
	spec.ExtraConfig = kept
	return value, found
}

// write puts the value into the .vmx file at the datastore path vmx.
func (k *ovfEnv) write(ctx *simulator.Context, vmx, value string) error {
	var p object.DatastorePath
	if !p.FromString(vmx) {
		return fmt.Errorf("%q is not a datastore path", vmx)
	}
	for _, e := range ctx.Map.All("Datastore") {
		ds, ok := e.(*simulator.Datastore)
		if !ok || ds.Name != p.Datastore {
			continue
		}
		return vmxfile.Set(filepath.Join(ds.Info.GetDatastoreInfo().Url, filepath.FromSlash(p.Path)), OVFEnvKey, value)
	}
	return fmt.Errorf("no datastore %q", p.Datastore)
}

// UpdateObject writes the key of a VM the simulator has just made: the create updates the new VM once its
// .vmx exists and before its task completes, so the key is in place when the client sees the VM.
func (k *ovfEnv) UpdateObject(ctx *simulator.Context, obj mo.Reference, _ []types.PropertyChange) {
	var cfg *types.VirtualMachineConfigInfo
	switch vm := obj.(type) {
	case *mo.VirtualMachine:
		cfg = vm.Config
	case *simulator.VirtualMachine:
		cfg = vm.Config
	default:
		return
	}
	k.mu.Lock()
	none := len(k.pending) == 0
	k.mu.Unlock()
	if cfg == nil || none { // every VM update passes here: most find nothing to do
		return
	}
	var p object.DatastorePath
	if !p.FromString(cfg.Files.VmPathName) {
		return
	}
	k.mu.Lock()
	v, ok := k.pending[p.String()]
	delete(k.pending, p.String())
	k.mu.Unlock()
	if ok {
		if err := k.write(ctx, p.String(), v); err != nil {
			k.log.Warn("write guestinfo.ovfEnv of a new VM", "vmx", p.String(), "err", err)
		}
	}
}

func (k *ovfEnv) Reference() types.ManagedObjectReference                       { return k.self }
func (k *ovfEnv) PutObject(*simulator.Context, mo.Reference)                    {}
func (k *ovfEnv) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}
