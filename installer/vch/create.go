package vch

import (
	"context"
	"fmt"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Create validates the options and the target, then deploys the VCH (see the package documentation). When
// a step after validation fails, everything made so far is removed, and the error is a Reported one.
func (m *Manager) Create(ctx context.Context, o CreateOptions) (*CreateResult, error) {
	log := m.log()
	ctx, cancel := withTimeout(ctx, o.Timeout)
	defer cancel()

	plan, err := m.validateLocal(&o)
	if err != nil {
		return nil, err
	}
	s, err := m.connect(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, ccancel := cleanupContext()
		defer ccancel()
		s.Logout(cctx)
	}()
	if err := m.validateTarget(ctx, s, plan); err != nil {
		return nil, err
	}
	tlsm, err := prepareTLS(plan.o.Name, plan.mode, plan.o.TLSOptions, log)
	if err != nil {
		return nil, err
	}

	var u undo
	res, err := m.build(ctx, s, plan, tlsm, &u)
	if err != nil {
		log.Errorf("Create failed: %v", err)
		u.run(log)
		return nil, reportedError{err}
	}
	return res, nil
}

// build makes the VCH, pushing an undo step for everything it makes.
func (m *Manager) build(ctx context.Context, s *Session, plan *createPlan, tlsm *tlsMaterial, u *undo) (*CreateResult, error) {
	log := m.log()
	o := plan.o
	name := o.Name
	dc := plan.p.Datacenter
	files := s.files(dc, plan.store)

	pool, err := s.createPool(ctx, plan.p, name, plan.app.Version, o.UseRP, o.CPUMHz, o.MemoryMB, log)
	if err != nil {
		return nil, err
	}
	u.push(fmt.Sprintf("%s %s", kind(pool.Reference().Type), pool.InventoryPath), func(ctx context.Context) error {
		return destroyPool(ctx, pool)
	})

	log.Infof("Creating directory %s", files.path(name))
	if err := files.mkdir(ctx, name); err != nil {
		return nil, err
	}
	u.push("datastore folder "+files.path(name), func(ctx context.Context) error { return files.remove(ctx, name) })

	log.Infof("Uploading images for container")
	if err := files.upload(ctx, plan.app.Path, path.Join(name, vchwire.ApplianceISO), log); err != nil {
		return nil, err
	}
	if err := files.upload(ctx, plan.boot.Path, path.Join(name, bootstrapISOName), log); err != nil {
		return nil, err
	}

	for _, v := range plan.volumes {
		if v.NFS != "" {
			log.Warnf("Volume store %q is an NFS export (%s): this version of the endpoint does not serve NFS volume stores yet", v.Label, v.NFS)
			continue
		}
		if v.Path == "" {
			continue
		}
		vf := s.files(dc, v.ds)
		exists, err := vf.exists(ctx, v.Path)
		if err != nil {
			return nil, err
		}
		if exists {
			log.Infof("Using the existing volume store %q at %s", v.Label, vf.path(v.Path))
			continue
		}
		log.Infof("Creating volume store %q at %s", v.Label, vf.path(v.Path))
		top, err := vf.mkdirAll(ctx, v.Path)
		if err != nil {
			return nil, err
		}
		if top != "" {
			u.push("volume store folder "+vf.path(top), func(ctx context.Context) error { return vf.remove(ctx, top) })
		}
	}

	// The backend keeps images under VIC/<name>; one left from an earlier VCH of that name is kept.
	images := imagesFolder(name)
	hadImages, err := files.exists(ctx, images)
	if err != nil {
		return nil, err
	}
	if !hadImages {
		u.push("image store folder "+files.path(images), func(ctx context.Context) error { return removeImages(ctx, files, name) })
	}

	log.Infof("Creating appliance on target")
	// The endpoint's key: its private half goes to the VM once, in the spec that creates it, and is never
	// read back; the secrets are sealed to its public half (vchwire's secrets.go).
	key, err := vchwire.NewSecretKey()
	if err != nil {
		return nil, err
	}
	tlsm.pub = key.PublicKey()
	cfg, err := plan.applianceConfig(s, tlsm.pub)
	if err != nil {
		return nil, err
	}
	spec, err := endpointSpec{
		Name: name, CPUs: int32(o.EndpointCPUs), MemoryMB: o.EndpointMemoryMB, Datastore: plan.store, Networks: plan.nics,
		ExtraConfig: map[string]string{vchwire.KeyAppliance: mustJSON(cfg), vchwire.KeyVCHVersion: plan.app.Version,
			vchwire.KeySecretKey: key.String(), vchwire.KeyPublicKey: tlsm.pub.String()},
	}.configSpec(ctx)
	if err != nil {
		return nil, err
	}
	vm, err := s.createVM(ctx, plan, pool, spec)
	if err != nil {
		return nil, err
	}
	ep := &endpointVM{s: s, vm: vm, name: name, console: files.path(path.Join(name, applianceLogName)), log: log, poll: m.poll(), timeout: s.timeout}
	u.push("endpoint VM "+name, func(ctx context.Context) error { return ep.destroy(ctx) })

	if err := ep.powerOn(ctx); err != nil {
		return nil, err
	}
	st, err := ep.waitIP(ctx)
	if err != nil {
		return nil, err
	}
	if tlsm.mode != vchwire.TLSOff {
		tv, err := tlsm.issue(st.IP, log)
		if err != nil {
			return nil, err
		}
		if err := ep.reconfigure(ctx, map[string]string{vchwire.KeyApplianceTLS: mustJSON(tv)}); err != nil {
			return nil, err
		}
	}
	if st, err = ep.waitRunning(ctx); err != nil {
		return nil, err
	}
	if err := m.pingDocker(ctx, st, tlsm); err != nil {
		return nil, err
	}
	u.steps = nil // made it: nothing to undo

	log.Infof("Initialization of appliance successful")
	return &CreateResult{ID: vm.Reference().Value, Version: plan.app.Version, Access: tlsm.access(name, st)}, nil
}

// createVM makes the endpoint VM in the pool (CreateChildVM for a vApp) and the datacenter's VM folder. On
// a cluster without DRS, or a host, the VM goes to the first host.
func (s *Session) createVM(ctx context.Context, plan *createPlan, pool *object.ResourcePool, spec types.VirtualMachineConfigSpec) (*object.VirtualMachine, error) {
	var host *object.HostSystem
	if plan.p.IsCluster && !plan.drs && len(plan.p.Hosts) > 0 {
		host = plan.p.Hosts[0]
	}
	var task *object.Task
	var err error
	if isVApp(pool.Reference()) {
		task, err = object.NewVirtualApp(s.Client, pool.Reference()).CreateChildVM(ctx, spec, host)
	} else {
		task, err = plan.p.Folders.VmFolder.CreateVM(ctx, spec, pool, host)
	}
	if err != nil {
		return nil, fmt.Errorf("create the endpoint VM %q: %w", spec.Name, err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("create the endpoint VM %q: %w", spec.Name, err)
	}
	vm := object.NewVirtualMachine(s.Client, info.Result.(types.ManagedObjectReference))
	vm.InventoryPath = path.Join(plan.p.Folders.VmFolder.InventoryPath, spec.Name)
	return vm, nil
}

// imagesFolder is where the backend keeps the VCH's images: "VIC/<name>".
func imagesFolder(name string) string { return path.Join("VIC", name) }

// removeImages deletes "VIC/<name>" and "VIC" itself when nothing else is left in it.
func removeImages(ctx context.Context, files *dsFiles, name string) error {
	if err := files.remove(ctx, imagesFolder(name)); err != nil {
		return err
	}
	left, err := files.list(ctx, "VIC")
	if err != nil || len(left) > 0 {
		return err
	}
	if exists, _ := files.exists(ctx, "VIC"); exists {
		return files.remove(ctx, "VIC")
	}
	return nil
}
