package vch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/vch/vchtest"
)

func TestListInspectDelete(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	o, a, id := createVCH(t, s, "vch1", "v1.0.0", func(o *CreateOptions) { o.ContainerNetworks = []string{"VM Network:public"} })
	_, _, id2 := createVCH(t, s, "vch2", "v0.9.0", func(o *CreateOptions) { o.UseRP = true; o.VolumeStores = nil })
	common := CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint, Name: "vch1"}

	// ls: both, with their versions and paths.
	m, _ := testManager(t)
	list, err := m.List(ctx, common)
	if err != nil || len(list) != 2 {
		t.Fatalf("ls: %v %d", err, len(list))
	}
	if list[0].ID != id || list[0].Name != "vch1" || list[0].Version != "v1.0.0" || list[0].Pool.InventoryPath != "/DC0/host/DC0_C0/Resources/vch1" ||
		list[1].ID != id2 || list[1].Name != "vch2" || list[1].Version != "v0.9.0" || list[1].Pool.InventoryPath != "/DC0/host/DC0_C0/Resources/vch2" {
		t.Errorf("ls: %+v %+v", list[0], list[1])
	}
	other := common
	other.ComputeResource = "nope"
	if list, err := m.List(ctx, other); err != nil || len(list) != 0 {
		t.Errorf("ls on another compute resource: %v %d", err, len(list))
	}

	// inspect by name and by ID.
	m, _ = testManager(t)
	v, err := m.Inspect(ctx, InspectOptions{CommonOptions: common, CertPath: o.CertPath})
	if err != nil || v.ID != id {
		t.Fatalf("inspect: %v", err)
	}
	if v.Version != "v1.0.0" || v.PoolKind() != "virtual app" || v.Limits == nil || v.Limits.String() != "CPU unlimited, memory unlimited" ||
		v.Config.VolumeStores["default"] != "ds://datastore1/volumes/vch1" || len(v.Config.ContainerNetworks) != 1 ||
		v.Config.ContainerNetworks[0].Alias != "public" || v.Config.Backend != "vcsim" {
		t.Errorf("inspect: %+v limits %v", v.VCH, v.Limits)
	}
	if acc := v.Access; acc.DockerAddr() != a.IP+":2376" || acc.AdminPortal() != "https://"+a.IP+":2378" || acc.TLS != "verify" || acc.CertDir != o.CertPath {
		t.Errorf("inspect access %+v", acc)
	}
	m, _ = testManager(t)
	byID := common
	byID.Name, byID.ID = "", id2
	if v, err := m.Inspect(ctx, InspectOptions{CommonOptions: byID}); err != nil || v.Name != "vch2" || v.PoolKind() != "resource pool" {
		t.Fatalf("inspect --id: %v", err)
	}
	m, _ = testManager(t)
	bad := common
	bad.Name = "nope"
	if _, err := m.Inspect(ctx, InspectOptions{CommonOptions: bad}); err == nil || !strings.Contains(err.Error(), "Suggested values for --name:") {
		t.Fatalf("inspect of a missing VCH: %v", err)
	}

	// inspect config: the create command line.
	m, out := testManager(t)
	args, err := m.CreateArgs(ctx, common)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{"vice-machine create", "--target https://127.0.0.1:", "/DC0", "--user user", "--thumbprint " + s.Thumbprint,
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
	if !slices.Contains(args, "VCH Bridge") {
		t.Errorf("inspect config splits a value: %q", args)
	}

	// delete refuses while containers run, then --force removes everything but the volume store.
	s.ContainerVM(t, "vch1", "busybox-1")
	s.ContainerVM(t, "vch1", "busybox-2")
	images := filepath.Join(s.DatastoreDir, "VIC", "vch1", "images", "scratch")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ = testManager(t)
	_, err = m.Delete(ctx, DeleteOptions{CommonOptions: common})
	if err == nil || !strings.Contains(err.Error(), "Delete failed: 2 containers are running; use --force") {
		t.Fatalf("delete with running containers: %v", err)
	}
	if !slices.Contains(s.VMNames(t), "busybox-1") {
		t.Fatal("the refused delete removed a container")
	}
	m, out = testManager(t)
	res, err := m.Delete(ctx, DeleteOptions{CommonOptions: common, Force: true})
	if err != nil {
		t.Fatalf("delete --force: %v", err)
	}
	if len(res.VolumeStores) != 1 || res.VolumeStores["default"] != "ds://datastore1/volumes/vch1" {
		t.Errorf("delete kept %v", res.VolumeStores)
	}
	for _, want := range []string{"Removing VMs", `"busybox-1"`, `Removing appliance VM "vch1"`, "Removing images",
		"Removing VCH folder [datastore1] vch1", `Removing virtual app "vch1"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("delete progress lacks %q", want)
		}
	}
	if vms := sorted(s.VMNames(t)); !slices.Equal(vms, []string{"vch2"}) {
		t.Errorf("VMs left: %v", vms)
	}
	if pools := s.PoolNames(t); !slices.Equal(pools, []string{"vch2"}) {
		t.Errorf("pools left: %v", pools)
	}
	files := sorted(s.DatastoreEntries(t, ""))
	if !slices.Equal(files, []string{"VIC", "vch2", "volumes"}) && !slices.Equal(files, []string{"vch2", "volumes"}) {
		t.Errorf("datastore after delete: %v", files)
	}
	if left := s.DatastoreEntries(t, "VIC"); len(left) != 0 {
		t.Errorf("VIC folder still has %v", left)
	}
	if left := s.DatastoreEntries(t, "volumes"); !slices.Equal(left, []string{"vch1"}) {
		t.Errorf("volume stores: %v", left)
	}

	// The second VCH (a resource pool) goes too; then the target has nothing of either.
	m, _ = testManager(t)
	if _, err := m.Delete(ctx, DeleteOptions{CommonOptions: byID}); err != nil {
		t.Fatalf("delete --id: %v", err)
	}
	if vms, pools := s.VMNames(t), s.PoolNames(t); len(vms) != 0 || len(pools) != 0 {
		t.Errorf("left after deleting both: VMs %v pools %v", vms, pools)
	}
	if files := sorted(s.DatastoreEntries(t, "")); !slices.Equal(files, []string{"volumes"}) {
		t.Errorf("datastore after deleting both: %v", files)
	}
	m, _ = testManager(t)
	if list, err := m.List(ctx, common); err != nil || len(list) != 0 {
		t.Errorf("ls after delete: %v %v", list, err)
	}
}
