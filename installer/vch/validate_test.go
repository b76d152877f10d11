package vch

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vch/vchtest"
)

// Every validation failure happens before anything is made, and its message says what to fix.
func TestCreateValidationFailures(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()

	// A second cluster makes --compute-resource necessary for the cases that need it.
	addCluster := func(t *testing.T) {
		f := s.Finder(t)
		dc, _ := f.DefaultDatacenter(ctx)
		folders, err := dc.Folders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := folders.HostFolder.CreateCluster(ctx, "DC0_C1", types.ClusterConfigSpecEx{}); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name   string
		change func(*CreateOptions)
		setup  func(*testing.T)
		want   []string
	}{
		{"wrong password", func(o *CreateOptions) { o.Password = "wrong" },
			nil, []string{`cannot log in to`, `as "user"`, "incorrect user name or password", "--password"}},
		{"wrong thumbprint", func(o *CreateOptions) { o.Thumbprint = strings.Repeat("AB:", 31) + "AB" },
			nil, []string{"does not match --thumbprint", "its thumbprint is " + s.Thumbprint, "--thumbprint=" + s.Thumbprint}},
		{"no thumbprint for an untrusted certificate", func(o *CreateOptions) { o.Thumbprint = "" },
			nil, []string{"failed to verify certificate for target=", "thumbprint=" + s.Thumbprint, "pass --thumbprint="}},
		{"malformed thumbprint", func(o *CreateOptions) { o.Thumbprint = "nope" },
			nil, []string{"--thumbprint \"nope\" is not a SHA-1 or SHA-256 thumbprint"}},
		{"missing image store", func(o *CreateOptions) { o.ImageStore = "nope" },
			nil, []string{`datastore "nope" (--image-store) not found`, "Suggested values for --image-store:", `"datastore1"`}},
		{"missing volume store datastore", func(o *CreateOptions) { o.VolumeStores = []string{"nope/volumes:default"} },
			nil, []string{`datastore "nope" (--volume-store) not found`, "Suggested values for --volume-store:", `"datastore1"`}},
		{"missing bridge network", func(o *CreateOptions) { o.BridgeNetwork = "nope" },
			nil, []string{`network "nope" (--bridge-network) not found`, "Suggested values for --bridge-network:", `"VCH Bridge"`, `"VM Network"`}},
		{"missing public network", func(o *CreateOptions) { o.PublicNetwork = "nope" },
			nil, []string{`network "nope" (--public-network) not found`, "Suggested values for --public-network:"}},
		{"missing container network", func(o *CreateOptions) { o.ContainerNetworks = []string{"nope:net1"} },
			nil, []string{`network "nope" (--container-network) not found`, "Suggested values for --container-network:"}},
		{"no bridge network", func(o *CreateOptions) { o.BridgeNetwork = "" },
			nil, []string{"--bridge-network is required", "Suggested values for --bridge-network:"}},
		{"bridge shared with public", func(o *CreateOptions) { o.BridgeNetwork = "VM Network" },
			nil, []string{"must not be shared with another network role"}},
		{"several problems at once", func(o *CreateOptions) { o.ImageStore = "nope"; o.BridgeNetwork = "nope" },
			nil, []string{"Suggested values for --image-store:", "Suggested values for --bridge-network:"}},
		{"wrong compute resource", func(o *CreateOptions) { o.ComputeResource = "nope" },
			nil, []string{`compute resource "nope" not found`, "Suggested values for --compute-resource:", `"DC0_C0"`}},
		{"host of a cluster", func(o *CreateOptions) { o.ComputeResource = "DC0_C0_H0" },
			nil, []string{`host "DC0_C0_H0" belongs to cluster "DC0_C0"`}},
		{"wrong datacenter", func(o *CreateOptions) { o.Target = strings.TrimSuffix(o.Target, "/sdk") + "/nope" },
			nil, []string{`datacenter "nope" (from --target) not found`, `"DC0"`}},
		{"bad backend", func(o *CreateOptions) { o.Backend = "qemu" },
			nil, []string{`--backend "qemu" is not one of vsphere, vcsim`}},
		{"missing ISO", func(o *CreateOptions) { o.ApplianceISO = "/nonexistent/appliance.iso" },
			nil, []string{"appliance ISO", "--appliance-iso"}},
		{"bad volume store", func(o *CreateOptions) { o.VolumeStores = []string{":x"} },
			nil, []string{"names no datastore"}},
		{"bad bridge range", func(o *CreateOptions) { o.BridgeNetworkRange = "172.16.0.0" },
			nil, []string{"CIDR format"}},
		{"bad DNS", func(o *CreateOptions) { o.DNS = []string{"dns.example.com"} },
			nil, []string{"is not an IP address"}},
		// Last: it changes the inventory for good.
		{"ambiguous compute resource", func(o *CreateOptions) {}, addCluster,
			[]string{"has 2 compute resources; choose one with --compute-resource", "Suggested values for --compute-resource:", `"DC0_C0"`, `"DC0_C1"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			before := state(t, s)
			m, out := testManager(t)
			o := createOptions(t, s, "vch1", "v1.0.0")
			tc.change(&o)
			_, err := m.Create(ctx, o)
			if err == nil {
				t.Fatal("create succeeded")
			}
			t.Logf("error:\n%v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if after := state(t, s); !after.equal(before) {
				t.Errorf("validation failure changed the target:\nbefore %+v\nafter  %+v", before, after)
			}
			if strings.Contains(out.String(), "Creating") {
				t.Errorf("something was created:\n%s", out.String())
			}
		})
	}
}

// The name is taken by an existing VCH: refused before anything is made.
func TestCreateNameTaken(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	s.StartAppliance(t, "vch1")
	m, _ := testManager(t)
	if _, err := m.Create(ctx, createOptions(t, s, "vch1", "v1.0.0")); err != nil {
		t.Fatal(err)
	}
	before := state(t, s)
	m2, _ := testManager(t)
	_, err := m2.Create(ctx, createOptions(t, s, "vch1", "v1.0.0"))
	if err == nil || !strings.Contains(err.Error(), `a virtual app named "vch1" already exists`) || !strings.Contains(err.Error(), "choose another --name") {
		t.Fatalf("second create: %v", err)
	}
	if after := state(t, s); !after.equal(before) {
		t.Errorf("the refused create changed the target: %+v -> %+v", before, after)
	}
}
