package vchtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/vcsim/vmxfile"
)

// Appliance plays the endpoint's guest: when the VM powers on it reports an address, waits for the
// certificates, serves /_ping on the Docker port and reports running, as the real init does.
type Appliance struct {
	t    *testing.T
	c    *vim25.Client
	name string
	// IP is the address the appliance reports: a loopback address of its own.
	IP string

	// fail makes the appliance report ApplianceFailed with this error instead of running; noIP makes it
	// never report an address.
	fail string
	noIP bool

	mu    sync.Mutex
	boots int
	last  vchwire.ApplianceStatus
	srv   *http.Server

	stop chan struct{}
	done chan struct{}
}

// StartAppliance plays the appliance of the endpoint VM called name until the test ends.
func (s *Sim) StartAppliance(t *testing.T, name string) *Appliance {
	a := &Appliance{
		t: t, c: s.Login(t), name: name,
		IP:   fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), 1+rand.IntN(250), 2+rand.IntN(250)),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go a.run()
	t.Cleanup(a.Close)
	return a
}

// Close stops playing the appliance.
func (a *Appliance) Close() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	<-a.done
	a.stopServer()
}

// SetFail makes the appliance report a failure with this error at its next boot (or now, while it waits
// for certificates); "" makes it start normally again.
func (a *Appliance) SetFail(msg string) {
	a.mu.Lock()
	a.fail = msg
	a.mu.Unlock()
}

// SetNoIP makes the appliance never report an address.
func (a *Appliance) SetNoIP(v bool) {
	a.mu.Lock()
	a.noIP = v
	a.mu.Unlock()
}

// Boots counts the power-ons the appliance saw.
func (a *Appliance) Boots() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.boots
}

func (a *Appliance) run() {
	defer close(a.done)
	ctx := context.Background()
	booted := false
	var bootTime time.Time
	for {
		select {
		case <-a.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		vm := a.find(ctx)
		if vm == nil || vm.Config == nil {
			continue
		}
		extra := map[string]string{}
		for _, o := range vm.Config.ExtraConfig {
			ov := o.GetOptionValue()
			if s, ok := ov.Value.(string); ok {
				extra[ov.Key] = s
			}
		}
		on := vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn
		var bt time.Time
		if vm.Runtime.BootTime != nil {
			bt = *vm.Runtime.BootTime
		}
		if booted && (!on || extra[vchwire.KeyApplianceStatus] == "" || !bt.Equal(bootTime)) {
			booted = false // powered off, or rebooted by the installer (which clears the status)
			a.stopServer()
		}
		if !on {
			continue
		}
		var cfg vchwire.ApplianceConfig
		_ = json.Unmarshal([]byte(extra[vchwire.KeyAppliance]), &cfg)
		if !booted {
			booted, bootTime = true, bt
			a.mu.Lock()
			a.boots++
			a.mu.Unlock()
			a.mu.Lock()
			noIP := a.noIP
			a.mu.Unlock()
			if noIP {
				a.report(vm.Self, vchwire.ApplianceStatus{State: vchwire.ApplianceBooting, Version: cfg.Version})
				continue
			}
			a.report(vm.Self, vchwire.ApplianceStatus{State: vchwire.ApplianceWaitingTLS, Version: cfg.Version, IP: a.IP})
			continue
		}
		a.mu.Lock()
		fail, noIP := a.fail, a.noIP
		a.mu.Unlock()
		if noIP || a.Current().State == vchwire.ApplianceRunning || a.Current().State == vchwire.ApplianceFailed {
			continue
		}
		if fail != "" {
			a.report(vm.Self, vchwire.ApplianceStatus{State: vchwire.ApplianceFailed, Version: cfg.Version, IP: a.IP, Error: fail,
				Services: []vchwire.ServiceStatus{{Name: "vice-engine", State: "failed", Restarts: 3, Error: fail}}})
			continue
		}
		var tlsCfg *vchwire.ApplianceTLS
		var serverKey []byte
		if cfg.TLS != vchwire.TLSOff {
			raw := extra[vchwire.KeyApplianceTLS]
			if raw == "" {
				continue // waiting for the installer's certificates
			}
			tlsCfg = &vchwire.ApplianceTLS{}
			if err := json.Unmarshal([]byte(raw), tlsCfg); err != nil {
				a.t.Errorf("fake appliance: bad TLS value: %v", err)
				continue
			}
			// The guest opens its server key with the key the hypervisor hands it.
			key, err := a.endpointKey(ctx, vm, extra)
			if err == nil {
				serverKey, err = key.Open(vchwire.SecretServerKey, tlsCfg.ServerKey)
			}
			if err != nil {
				a.report(vm.Self, vchwire.ApplianceStatus{State: vchwire.ApplianceFailed, Version: cfg.Version, IP: a.IP, Error: err.Error()})
				continue
			}
		}
		port, err := a.serve(tlsCfg, serverKey)
		if err != nil {
			a.report(vm.Self, vchwire.ApplianceStatus{State: vchwire.ApplianceFailed, Version: cfg.Version, IP: a.IP, Error: err.Error()})
			continue
		}
		a.report(vm.Self, vchwire.ApplianceStatus{
			State: vchwire.ApplianceRunning, Version: cfg.Version, IP: a.IP,
			DockerHost:  fmt.Sprintf("tcp://%s:%d", a.IP, port),
			AdminPortal: fmt.Sprintf("https://%s:%d", a.IP, vchwire.PortAdmin),
			Services:    []vchwire.ServiceStatus{{Name: "vice-engine", State: "running", Pid: 42}},
		})
	}
}

// Current is the status the appliance reported last.
func (a *Appliance) Current() vchwire.ApplianceStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *Appliance) find(ctx context.Context) *mo.VirtualMachine {
	v, err := view.NewManager(a.c).CreateContainerView(ctx, a.c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil
	}
	defer v.Destroy(ctx)
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.extraConfig", "config.files.vmPathName",
		"runtime.powerState", "runtime.bootTime"}, &vms); err != nil {
		return nil
	}
	for i := range vms {
		if vms[i].Name == a.name {
			return &vms[i]
		}
	}
	return nil
}

// endpointKey is what the guest reads as vchwire.KeySecretKey: the simulator keeps it in the VM's .vmx as
// ESXi does (read here through the datastore, as the hypervisor reads it), or, when the simulator shows it
// (govmomi's own), in extraConfig.
func (a *Appliance) endpointKey(ctx context.Context, vm *mo.VirtualMachine, extra map[string]string) (*vchwire.SecretKey, error) {
	if v := extra[vchwire.KeySecretKey]; v != "" {
		return vchwire.ParseSecretKey(v)
	}
	var p object.DatastorePath
	if !p.FromString(vm.Config.Files.VmPathName) {
		return nil, fmt.Errorf("fake appliance: the VM's .vmx path %q", vm.Config.Files.VmPathName)
	}
	f := find.NewFinder(a.c, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := f.SetDatacenter(dc).Datastore(ctx, p.Datastore)
	if err != nil {
		return nil, err
	}
	rc, _, err := ds.Download(ctx, p.Path, &soap.DefaultDownload)
	if err != nil {
		return nil, fmt.Errorf("fake appliance: download the .vmx: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	v, found, err := vmxfile.Lookup(data, vchwire.KeySecretKey)
	if err != nil || !found {
		return nil, fmt.Errorf("fake appliance: no %s in the .vmx (%v)", vchwire.KeySecretKey, err)
	}
	return vchwire.ParseSecretKey(v)
}

// report writes the status the way the appliance's init does: guestinfo, which vSphere keeps in extraConfig.
func (a *Appliance) report(ref types.ManagedObjectReference, st vchwire.ApplianceStatus) {
	st.Updated = time.Now().UTC()
	a.mu.Lock()
	a.last = st
	a.mu.Unlock()
	data, _ := json.Marshal(st)
	vm := object.NewVirtualMachine(a.c, ref)
	task, err := vm.Reconfigure(context.Background(), types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: vchwire.KeyApplianceStatus, Value: string(data)}},
	})
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		a.t.Logf("fake appliance: report %s: %v", st.State, err)
	}
}

// serve starts the Docker API stand-in: /_ping on the appliance's address, with the installer's server
// certificate (and its opened key) and, in verify mode, client certificates required.
func (a *Appliance) serve(tv *vchwire.ApplianceTLS, serverKey []byte) (int, error) {
	a.stopServer()
	port := vchwire.PortDockerPlain
	var cfg *tls.Config
	if tv != nil {
		port = vchwire.PortDockerTLS
		cert, err := tls.X509KeyPair([]byte(tv.ServerCert), serverKey)
		if err != nil {
			return 0, err
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}}
		if tv.CACert != "" {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM([]byte(tv.CACert))
			cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(a.IP, fmt.Sprint(port)))
	if err != nil {
		return 0, err
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			io.WriteString(w, "OK")
			return
		}
		http.NotFound(w, r)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(l)
	a.mu.Lock()
	a.srv = srv
	a.mu.Unlock()
	return port, nil
}

func (a *Appliance) stopServer() {
	a.mu.Lock()
	srv := a.srv
	a.srv = nil
	a.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}
