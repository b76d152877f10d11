package machine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// createVCH makes a VCH "name" of version with the fake appliance, and returns its options and ID.
func (s *sim) createVCH(t *testing.T, name, version string, change func(*CreateOptions)) (CreateOptions, *fakeAppliance, string) {
	t.Helper()
	a := s.startAppliance(t, name)
	m, _ := testMachine(t)
	o := s.createOptions(t, name, version)
	if change != nil {
		change(&o)
	}
	res, err := m.Create(context.Background(), o)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return o, a, res.ID
}

// containerVM makes a running containerVM in the VCH's pool, as the backend would.
func (s *sim) containerVM(t *testing.T, vchName, name string) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	f := s.finder(t)
	vch, err := f.VirtualMachine(ctx, vchName)
	if err != nil {
		t.Fatal(err)
	}
	var vmo mo.VirtualMachine
	if err := vch.Properties(ctx, vch.Reference(), []string{"resourcePool"}, &vmo); err != nil {
		t.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{
		Name: name, GuestId: "other3xLinux64Guest", NumCPUs: 1, MemoryMB: 64,
		Files:       &types.VirtualMachineFileInfo{VmPathName: "[datastore1] " + name + "/" + name + ".vmx"},
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: wire.KeyID, Value: strings.Repeat("a", 64)}},
	}
	var task *object.Task
	if vmo.ResourcePool.Type == "VirtualApp" {
		task, err = object.NewVirtualApp(s.client, *vmo.ResourcePool).CreateChildVM(ctx, spec, nil)
	} else {
		dc, _ := f.DefaultDatacenter(ctx)
		folders, _ := dc.Folders(ctx)
		task, err = folders.VmFolder.CreateVM(ctx, spec, object.NewResourcePool(s.client, *vmo.ResourcePool), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	vm := object.NewVirtualMachine(s.client, info.Result.(types.ManagedObjectReference))
	task, err = vm.PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func TestListInspectDelete(t *testing.T) {
	s := startSim(t)
	ctx := context.Background()
	o, a, id := s.createVCH(t, "vch1", "v1.0.0", func(o *CreateOptions) { o.ContainerNetworks = []string{"VM Network:public"} })
	_, _, id2 := s.createVCH(t, "vch2", "v0.9.0", func(o *CreateOptions) { o.UseRP = true; o.VolumeStores = nil })
	common := CommonOptions{Target: s.target(), Thumbprint: s.thumbprint, Name: "vch1"}
	newISO, _ := isos(t, "v1.0.0")

	// ls: both, with their versions against the installer's appliance.iso.
	m, out := testMachine(t)
	list, err := m.List(ctx, ListOptions{CommonOptions: common, ApplianceISO: newISO})
	if err != nil || len(list) != 2 {
		t.Fatalf("ls: %v %d", err, len(list))
	}
	table := out.String()
	for _, want := range []string{"ID", "PATH", "NAME", "VERSION", "UPGRADE STATUS",
		id + "  ", "/DC0/host/DC0_C0/Resources/vch1", "v1.0.0", "Up to date",
		id2, "/DC0/host/DC0_C0/Resources/vch2", "Upgradeable to v1.0.0"} {
		if !strings.Contains(table, want) {
			t.Errorf("ls lacks %q:\n%s", want, table)
		}
	}

	// inspect by name and by ID.
	m, out = testMachine(t)
	v, err := m.Inspect(ctx, ListOptions{CommonOptions: common, ApplianceISO: newISO, CertPath: o.CertPath})
	if err != nil || v.ID != id {
		t.Fatalf("inspect: %v", err)
	}
	for _, want := range []string{"VCH ID: " + id, "Installer version: v1.0.0", "VCH version: v1.0.0",
		"Installer has same version as VCH", "VCH Admin Portal:", "https://" + a.IP + ":2378",
		"DOCKER_HOST=" + a.IP + ":2376", "docker -H " + a.IP + ":2376 --tlsverify", "Volume store:", "ds://datastore1/volumes/vch1",
		"Container network:", "public: VM Network", "Backend:", "vcsim", "Completed successfully"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect lacks %q", want)
		}
	}
	m, _ = testMachine(t)
	byID := common
	byID.Name, byID.ID = "", id2
	if v, err := m.Inspect(ctx, ListOptions{CommonOptions: byID}); err != nil || v.Name != "vch2" {
		t.Fatalf("inspect --id: %v", err)
	}
	m, _ = testMachine(t)
	bad := common
	bad.Name = "nope"
	if _, err := m.Inspect(ctx, ListOptions{CommonOptions: bad}); err == nil || !strings.Contains(err.Error(), "Suggested values for --name:") {
		t.Fatalf("inspect of a missing VCH: %v", err)
	}

	// inspect config: the create command line.
	m, out = testMachine(t)
	args, err := m.InspectConfig(ctx, ListOptions{CommonOptions: common})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{"vice-machine create", "--target https://127.0.0.1:", "/DC0", "--user user", "--thumbprint " + s.thumbprint,
		"--name vch1", "--compute-resource /DC0/host/DC0_C0", "--image-store datastore1", "--volume-store datastore1/volumes/vch1:default",
		"--bridge-network VCH Bridge", "--public-network VM Network", "--container-network VM Network:public", "--dns-server 10.0.0.53",
		"--tls-cname vch.example.com", "--backend vcsim"} {
		if !strings.Contains(line, want) {
			t.Errorf("inspect config lacks %q: %s", want, line)
		}
	}
	if strings.Contains(line, "pass") || strings.Contains(out.String(), ":pass@") {
		t.Errorf("inspect config shows the password: %s", line)
	}
	if !strings.Contains(out.String(), "--bridge-network 'VCH Bridge'") {
		t.Errorf("inspect config output does not quote for the shell:\n%s", out.String())
	}

	// delete refuses while containers run, then --force removes everything but the volume store.
	s.containerVM(t, "vch1", "busybox-1")
	s.containerVM(t, "vch1", "busybox-2")
	images := filepath.Join(s.dsDir, "VIC", "vch1", "images", "scratch")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ = testMachine(t)
	err = m.Delete(ctx, DeleteOptions{CommonOptions: common})
	if err == nil || !strings.Contains(err.Error(), "Delete failed: 2 containers are running; use --force") {
		t.Fatalf("delete with running containers: %v", err)
	}
	if !slices.Contains(s.vmNames(t), "busybox-1") {
		t.Fatal("the refused delete removed a container")
	}
	m, out = testMachine(t)
	if err := m.Delete(ctx, DeleteOptions{CommonOptions: common, Force: true}); err != nil {
		t.Fatalf("delete --force: %v", err)
	}
	if !strings.Contains(out.String(), "Volume stores kept: default (ds://datastore1/volumes/vch1)") {
		t.Errorf("delete did not list the kept volume store:\n%s", out.String())
	}
	if vms := sorted(s.vmNames(t)); !slices.Equal(vms, []string{"vch2"}) {
		t.Errorf("VMs left: %v", vms)
	}
	if pools := s.poolNames(t); !slices.Equal(pools, []string{"vch2"}) {
		t.Errorf("pools left: %v", pools)
	}
	files := sorted(s.datastoreEntries(t, ""))
	if !slices.Equal(files, []string{"VIC", "vch2", "volumes"}) && !slices.Equal(files, []string{"vch2", "volumes"}) {
		t.Errorf("datastore after delete: %v", files)
	}
	if left := s.datastoreEntries(t, "VIC"); len(left) != 0 {
		t.Errorf("VIC folder still has %v", left)
	}
	if left := s.datastoreEntries(t, "volumes"); !slices.Equal(left, []string{"vch1"}) {
		t.Errorf("volume stores: %v", left)
	}

	// The second VCH (a resource pool) goes too; then the target has nothing of either.
	m, _ = testMachine(t)
	if err := m.Delete(ctx, DeleteOptions{CommonOptions: byID}); err != nil {
		t.Fatalf("delete --id: %v", err)
	}
	if vms, pools := s.vmNames(t), s.poolNames(t); len(vms) != 0 || len(pools) != 0 {
		t.Errorf("left after deleting both: VMs %v pools %v", vms, pools)
	}
	if files := sorted(s.datastoreEntries(t, "")); !slices.Equal(files, []string{"volumes"}) {
		t.Errorf("datastore after deleting both: %v", files)
	}
	m, out = testMachine(t)
	if list, err := m.List(ctx, ListOptions{CommonOptions: common}); err != nil || len(list) != 0 {
		t.Errorf("ls after delete: %v %v", list, err)
	}
}
