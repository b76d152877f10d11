package vch

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
)

func TestCreate(t *testing.T) {
	s := vchtest.StartVC(t)
	m, out := testManager(t)
	o := createOptions(t, s, "vch1", "v1.0.0")
	o.CPUMHz, o.MemoryMB = 4000, 8192
	a := s.StartAppliance(t, "vch1")

	res, err := m.Create(context.Background(), o)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	log := out.String()
	for _, want := range []string{
		"Validating supplied configuration", "Firewall", "License check OK on hosts:",
		"Evaluation license detected", "DRS check OK on:", `Creating virtual app "vch1"`, "Uploading images for container",
		"Waiting for IP information", "Waiting for major appliance components to launch", "Docker API endpoint check OK",
		"Initialization of appliance successful",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	acc := res.Access
	if res.Version != "v1.0.0" || acc.Name != "vch1" || acc.TLS != vchwire.TLSVerify || acc.CertDir != o.CertPath ||
		acc.DockerAddr() != a.IP+":2376" || acc.AdminPortal() != "https://"+a.IP+":2378" || acc.Status.State != vchwire.ApplianceRunning {
		t.Errorf("result %+v, Docker API at %q, portal %q", res, acc.DockerAddr(), acc.AdminPortal())
	}

	// The endpoint VM as the contract has it.
	ctx := context.Background()
	vm, err := s.Finder(t).VirtualMachine(ctx, "vch1")
	if err != nil {
		t.Fatal(err)
	}
	var vmo mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config", "resourcePool"}, &vmo); err != nil {
		t.Fatal(err)
	}
	if vmo.Config.GuestId != "other3xLinux64Guest" || vmo.Config.Hardware.NumCPU != 1 || vmo.Config.Hardware.MemoryMB != 2048 {
		t.Errorf("VM guest %s cpus %d memory %d", vmo.Config.GuestId, vmo.Config.Hardware.NumCPU, vmo.Config.Hardware.MemoryMB)
	}
	if vmo.ResourcePool == nil || vmo.ResourcePool.Type != "VirtualApp" {
		t.Errorf("VM pool %v, want the VCH's vApp", vmo.ResourcePool)
	}
	var serials, cdroms, nics int
	for _, d := range vmo.Config.Hardware.Device {
		switch dev := d.(type) {
		case *types.VirtualSerialPort:
			serials++
			if b, ok := dev.Backing.(*types.VirtualSerialPortFileBackingInfo); !ok || b.FileName != "[datastore1] vch1/appliance.log" {
				t.Errorf("serial port backing %#v", dev.Backing)
			}
		case *types.VirtualCdrom:
			cdroms++
			if b, ok := dev.Backing.(*types.VirtualCdromIsoBackingInfo); !ok || b.FileName != "[datastore1] vch1/appliance.iso" {
				t.Errorf("cdrom backing %#v", dev.Backing)
			}
		case types.BaseVirtualEthernetCard:
			nics++
		}
	}
	if serials != 1 || cdroms != 1 || nics != 2 {
		t.Errorf("devices: %d serial ports, %d cdroms, %d NICs; want 1, 1, 2", serials, cdroms, nics)
	}
	extra := map[string]string{}
	for _, ov := range vmo.Config.ExtraConfig {
		extra[ov.GetOptionValue().Key], _ = ov.GetOptionValue().Value.(string)
	}
	var cfg vchwire.ApplianceConfig
	if err := json.Unmarshal([]byte(extra[vchwire.KeyAppliance]), &cfg); err != nil {
		t.Fatalf("appliance config: %v", err)
	}
	// Disks attached to the endpoint are found by their UUIDs, which they report only with disk.EnableUUID.
	if extra["disk.EnableUUID"] != "TRUE" {
		t.Errorf("disk.EnableUUID = %q, want TRUE", extra["disk.EnableUUID"])
	}
	if extra[vchwire.KeyVCHVersion] != "v1.0.0" || cfg.Version != "v1.0.0" || cfg.Name != "vch1" {
		t.Errorf("versions %q %q name %q", extra[vchwire.KeyVCHVersion], cfg.Version, cfg.Name)
	}
	if !strings.HasPrefix(cfg.Target, "https://user@") || !strings.HasSuffix(cfg.Target, "/sdk") || !cfg.TargetPassword.IsSealed() {
		t.Errorf("target %q, password %q", cfg.Target, cfg.TargetPassword)
	}
	if cfg.Pool != "/DC0/host/DC0_C0/Resources/vch1" || cfg.ComputeResource != "/DC0/host/DC0_C0" || cfg.Datacenter != "/DC0" {
		t.Errorf("paths %q %q %q", cfg.Datacenter, cfg.ComputeResource, cfg.Pool)
	}
	if cfg.VolumeStores["default"] != "ds://datastore1/volumes/vch1" || cfg.ImageStore != "datastore1" {
		t.Errorf("stores %v %q", cfg.VolumeStores, cfg.ImageStore)
	}
	if cfg.TLS != "verify" || cfg.Backend != "vcsim" || len(cfg.Plugins) != 1 || cfg.Plugins[0].Name != "vcsim" || cfg.Thumbprint != s.Thumbprint {
		t.Errorf("tls %q backend %q plugins %v thumbprint %q", cfg.TLS, cfg.Backend, cfg.Plugins, cfg.Thumbprint)
	}
	for _, p := range cfg.Plugins {
		if p.File != "plugins/vice-plugin-"+p.Name || len(p.SHA256) != 64 {
			t.Errorf("plugin %+v", p)
		}
	}
	var tv vchwire.ApplianceTLS
	if err := json.Unmarshal([]byte(extra[vchwire.KeyApplianceTLS]), &tv); err != nil || tv.CACert == "" {
		t.Fatalf("TLS value: %v %+v", err, tv)
	}
	srv, _ := certs.ParseCertificate([]byte(tv.ServerCert))
	if !certs.Covers(srv, a.IP, "vch.example.com", "localhost") {
		t.Errorf("server certificate names %v %v", srv.IPAddresses, srv.DNSNames)
	}

	// Secrets kept secret: no extraConfig value and no datastore file shows the password or a private key
	// (the server key and the CA key the installer made among them) ...
	serverKey, _ := os.ReadFile(filepath.Join(o.CertPath, "server-key.pem"))
	caKey, _ := os.ReadFile(filepath.Join(o.CertPath, "ca-key.pem"))
	if len(serverKey) == 0 || len(caKey) == 0 {
		t.Fatal("the certificate folder has no server or CA key")
	}
	for _, leak := range s.Leaks(t, string(serverKey), string(caKey)) {
		t.Error(leak)
	}
	// The scan sees what is there: a value it is told of, a key in a file or escaped in JSON.
	if len(s.Leaks(t, cfg.Plugins[0].SHA256)) == 0 {
		t.Error("the leak scan does not find the plugin's checksum in extraConfig")
	}
	if escaped, _ := json.Marshal(string(serverKey)); !vchtest.PEMPrivateKey.Match(serverKey) || !vchtest.PEMPrivateKey.Match(escaped) {
		t.Error("the leak scan does not recognize a private key")
	}
	// ... and they open with the key ESXi keeps in the endpoint's .vmx, the one the guest reads.
	vmx, _ := os.ReadFile(filepath.Join(s.DatastoreDir, "vch1", "vch1.vmx"))
	keyText, found, err := vmxfile.Lookup(vmx, vchwire.KeySecretKey)
	if !found || err != nil {
		t.Fatalf("the .vmx holds no %s: %v\n%s", vchwire.KeySecretKey, err, vmx)
	}
	key, err := vchwire.ParseSecretKey(keyText)
	if err != nil {
		t.Fatal(err)
	}
	if !vchtest.EndpointKey.MatchString(keyText) {
		t.Error("the leak scan does not recognize an endpoint key")
	}
	if extra[vchwire.KeyPublicKey] != key.PublicKey().String() {
		t.Errorf("%s is not the public half of the VM's key", vchwire.KeyPublicKey)
	}
	full, err := cfg.OpenTarget(key)
	u, _ := url.Parse(full)
	if pass, _ := u.User.Password(); err != nil || pass != vchtest.Password || u.User.Username() != "user" {
		t.Errorf("the opened target has user %q and not the password (%v)", u.User.Username(), err)
	}
	if opened, err := key.Open(vchwire.SecretServerKey, tv.ServerKey); err != nil || string(opened) != string(serverKey) {
		t.Errorf("the sealed server key opens to the folder's server-key.pem: %v", err)
	}

	// The datastore: ISOs in the VCH folder, the volume store.
	for _, f := range []string{"vch1/appliance.iso", "vch1/bootstrap.iso", "volumes/vch1"} {
		if _, err := os.Stat(filepath.Join(s.DatastoreDir, f)); err != nil {
			t.Errorf("datastore: %v", err)
		}
	}
	// The pool limits.
	var pool mo.ResourcePool
	if err := vm.Properties(ctx, *vmo.ResourcePool, []string{"config"}, &pool); err != nil {
		t.Fatal(err)
	}
	if *pool.Config.CpuAllocation.Limit != 4000 || *pool.Config.MemoryAllocation.Limit != 8192 {
		t.Errorf("pool limits %d MHz %d MB", *pool.Config.CpuAllocation.Limit, *pool.Config.MemoryAllocation.Limit)
	}
	// The certificates (vice-machine adds the environment file).
	for _, f := range []string{"ca.pem", "ca-key.pem", "cert.pem", "key.pem", "server-cert.pem", "server-key.pem"} {
		if _, err := os.Stat(filepath.Join(o.CertPath, f)); err != nil {
			t.Errorf("cert folder: %v", err)
		}
	}
}
