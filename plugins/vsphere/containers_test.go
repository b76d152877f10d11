package vsphere

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// containerEnv is a backend on a fresh simulator, an independent client to check vSphere directly, and the
// datastore's local directory.
type containerEnv struct {
	b     *Backend
	c     *vim25.Client
	dsDir string
}

func newContainerEnv(t *testing.T) *containerEnv {
	t.Helper()
	return newContainerEnvOn(t, oneCluster())
}

// newContainerEnvOn is newContainerEnv on the simulator model m.
func newContainerEnvOn(t *testing.T, m *simulator.Model) *containerEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the image store's disks need root to unpack")
	}
	s := startSim(t, m, nil)
	b := newBackend(t, s.config())
	return &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
}

func testID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}

// emptyLayer writes a layer with an empty diff and returns its ID.
func (e *containerEnv) emptyLayer(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	_ = tar.NewWriter(&buf).Close()
	id := testID("layer-" + t.Name())
	if _, err := e.b.WriteLayer(context.Background(), id, "", "none", &buf); err != nil {
		t.Fatalf("WriteLayer: %v", err)
	}
	return id
}

func spec(name, layer string, p models.Process, annotations map[string]string) *models.ContainerSpec {
	id := testID(name)
	if p.Path == "" {
		p.Path = "/bin/true"
	}
	return &models.ContainerSpec{ID: &id, Name: &name, Layer: layer, Process: &p, Annotations: annotations}
}

func (e *containerEnv) create(t *testing.T, s *models.ContainerSpec) *models.ContainerInfo {
	t.Helper()
	info, err := e.b.CreateContainer(context.Background(), s)
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", *s.Name, err)
	}
	return info
}

// vm reads the containerVM straight from vSphere.
func (e *containerEnv) vm(t *testing.T, info *models.ContainerInfo) *mo.VirtualMachine {
	t.Helper()
	var ref types.ManagedObjectReference
	ref.FromString(info.VM)
	var m mo.VirtualMachine
	if err := object.NewVirtualMachine(e.c, ref).Properties(context.Background(), ref, nil, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func (e *containerEnv) local(rel string) string {
	return filepath.Join(e.dsDir, filepath.FromSlash(rel))
}

func TestCreateContainerProvisionsTheVM(t *testing.T) {
	e := newContainerEnv(t)
	layer := e.emptyLayer(t)
	info := e.create(t, spec("web", layer, models.Process{Path: "/bin/sh"}, map[string]string{"image": "busybox"}))
	id := *info.ID
	vmName := "web-" + id[:12]
	ds := e.b.where.datastore.Name()

	if info.VMName != vmName || *info.Name != "web" || *info.State.Status != statusCreated || info.Spec.Layer != layer {
		t.Fatalf("info: vmName %q name %q status %q layer %q", info.VMName, *info.Name, *info.State.Status, info.Spec.Layer)
	}
	m := e.vm(t, info)
	if m.ResourcePool == nil || *m.ResourcePool != e.b.where.pool.Reference() {
		t.Errorf("VM in pool %v, want the VCH pool", m.ResourcePool)
	}
	if m.Config.GuestId != containerGuestID || m.Config.Hardware.NumCPU != defaultCPUs || m.Config.Hardware.MemoryMB != defaultMemoryMB {
		t.Errorf("guest %s cpus %d memory %d", m.Config.GuestId, m.Config.Hardware.NumCPU, m.Config.Hardware.MemoryMB)
	}
	if want := fmt.Sprintf("[%s] %s/%s.vmx", ds, vmName, vmName); m.Config.Files.VmPathName != want {
		t.Errorf("vmx %s, want %s", m.Config.Files.VmPathName, want)
	}
	extra := newContainerVM(m).extra
	for key, want := range map[string]string{wire.KeyID: id, keyName: "web", keyLayer: layer, keyBoot: "0",
		keyAnnotations: `{"image":"busybox"}`, diskEnableUUID: "TRUE"} {
		if extra[key] != want {
			t.Errorf("extraConfig %s = %q, want %q", key, extra[key], want)
		}
	}
	var cfg wire.ContainerConfig
	if err := json.Unmarshal([]byte(extra[wire.KeyConfig]), &cfg); err != nil || cfg.Path != "/bin/sh" {
		t.Errorf("extraConfig config %q: %v", extra[wire.KeyConfig], err)
	}

	var sawISO, sawDisk, sawURI bool
	files := map[string]bool{}
	var scsiKey int32
	for _, d := range m.Config.Hardware.Device {
		if c, ok := d.(*types.ParaVirtualSCSIController); ok {
			scsiKey = c.Key
			if c.BusNumber != 0 || c.ScsiCtlrUnitNumber != wire.ControllerUnit {
				t.Errorf("SCSI controller on bus %d at unit %d, want bus 0 unit %d", c.BusNumber, c.ScsiCtlrUnitNumber, wire.ControllerUnit)
			}
		}
	}
	for _, d := range m.Config.Hardware.Device {
		switch d := d.(type) {
		case *types.VirtualCdrom:
			b, ok := d.Backing.(*types.VirtualCdromIsoBackingInfo)
			sawISO = ok && b.FileName == fmt.Sprintf("[%s] %s/bootstrap.iso", ds, DefaultVCHName)
		case *types.VirtualDisk:
			b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			sawDisk = ok && b.FileName == fmt.Sprintf("[%s] %s/%s.vmdk", ds, vmName, id)
			// The guest's init finds its root disk at this address (tether/wire).
			if d.ControllerKey != scsiKey || d.UnitNumber == nil || *d.UnitNumber != wire.RootDiskUnit {
				t.Errorf("the container's disk on controller %d unit %v, want the SCSI controller %d unit %d",
					d.ControllerKey, d.UnitNumber, scsiKey, wire.RootDiskUnit)
			}
		case *types.VirtualSerialPort:
			switch b := d.Backing.(type) {
			case *types.VirtualSerialPortURIBackingInfo:
				sawURI = b.Direction == "client" && b.ServiceURI == "tcp://"+e.b.ctr.attach.advertise
			case *types.VirtualSerialPortFileBackingInfo:
				files[b.FileName] = true
			}
		}
	}
	if !sawISO || !sawDisk || !sawURI {
		t.Errorf("devices: iso %v disk %v serial URI %v", sawISO, sawDisk, sawURI)
	}
	for _, f := range []string{outputLog, tetherDebug} {
		if p := fmt.Sprintf("[%s] %s/%s", ds, vmName, f); !files[p] {
			t.Errorf("no file-backed serial port %s (have %v)", p, files)
		}
	}

	// The disk is a child of the layer's disk, and its contents directory is the empty upper layer.
	desc := e.local(vmName + "/" + id + ".vmdk")
	parent, err := ParentOf(desc)
	if err != nil || filepath.Clean(parent) != e.local(LayerDescriptor(DefaultVCHName, layer)) {
		t.Errorf("disk parent %q (%v), want the layer's descriptor", parent, err)
	}
	if entries, err := os.ReadDir(DiskDataDir(desc)); err != nil || len(entries) != 0 {
		t.Errorf("contents dir of the container disk: %v %v", entries, err)
	}
	if chain, err := Chain(desc); err != nil || len(chain) != 3 {
		t.Errorf("disk chain %v (%v), want container, layer, scratch", chain, err)
	}
}

func TestContainerListGetRenameAnnotateRemove(t *testing.T) {
	ctx := context.Background()
	e := newContainerEnv(t)
	evs, _ := e.b.Events(ctxFor(t), []string{EventTypeContainer})
	a := e.create(t, spec("alpha", "", models.Process{Path: "/a"}, map[string]string{"image": "img-a"}))
	b := e.create(t, spec("beta", "", models.Process{Path: "/b"}, nil))

	list, err := e.b.ListContainers(ctx, sdk.ListFilter{})
	if err != nil || len(list) != 2 || *list[0].ID != *a.ID || *list[1].ID != *b.ID {
		t.Fatalf("ListContainers: %v %v", list, err)
	}
	if _, err := e.b.CreateContainer(ctx, spec("alpha", "", models.Process{}, nil)); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("same ID: %v, want conflict", err)
	}
	other := spec("gamma", "", models.Process{}, nil)
	*other.Name = "alpha"
	if _, err := e.b.CreateContainer(ctx, other); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("same name: %v, want conflict", err)
	}
	if _, err := e.b.GetContainer(ctx, testID("missing")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing: %v, want not found", err)
	}

	if _, err := e.b.RenameContainer(ctx, *a.ID, "beta"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("rename to a used name: %v, want conflict", err)
	}
	r, err := e.b.RenameContainer(ctx, *a.ID, "renamed")
	if err != nil || *r.Name != "renamed" || r.VMName != "renamed-"+(*a.ID)[:12] || r.Disk != a.Disk {
		t.Fatalf("rename: %+v %v", r, err)
	}
	if got, _ := e.b.GetContainer(ctx, *a.ID); *got.Name != "renamed" || e.vm(t, got).Name != got.VMName {
		t.Errorf("after rename: name %s vm %s", *got.Name, e.vm(t, got).Name)
	}

	ann, err := e.b.SetAnnotations(ctx, *b.ID, map[string]string{"k": "v"})
	if err != nil || ann.Spec.Annotations["k"] != "v" {
		t.Fatalf("SetAnnotations: %v %v", ann, err)
	}
	if cleared, err := e.b.SetAnnotations(ctx, *b.ID, nil); err != nil || len(cleared.Spec.Annotations) != 0 {
		t.Errorf("clear annotations: %v %v", cleared, err)
	}

	if err := e.b.RemoveContainer(ctx, *a.ID, false); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if _, err := e.b.GetContainer(ctx, *a.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("removed container: %v", err)
	}
	if _, err := os.Stat(e.local(a.VMName)); !os.IsNotExist(err) {
		t.Errorf("the removed VM's folder is still there: %v", err)
	}

	want := []string{"create alpha img-a", "create beta ", "rename renamed img-a /alpha", "destroy renamed img-a"}
	for _, w := range want {
		ev := nextEvent(t, evs)
		got := strings.TrimSpace(fmt.Sprintf("%s %s %s %s", *ev.Action, ev.Attributes["name"], ev.Attributes["image"], ev.Attributes["oldName"]))
		if got != strings.TrimSpace(w) {
			t.Errorf("event %q, want %q", got, w)
		}
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// testWait bounds a test's wait for a guest, an event or a stream: a safety net that ends a test that would
// hang, not a measure (a loaded machine runs everything many times slower).
const testWait = 2 * time.Minute

func nextEvent(t *testing.T, evs <-chan *models.Event) *models.Event {
	t.Helper()
	select {
	case ev := <-evs:
		return ev
	case <-time.After(testWait):
		t.Fatal("no event")
		return nil
	}
}
