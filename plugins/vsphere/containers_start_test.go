package vsphere

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// TestStartingContainerIsNotKilled looks at a container between the reconfigure that counts its boot and the
// end of its power-on (held open here by a simulator slow to power VMs on): its VM is off and no status of
// the new boot exists yet, which must read as starting, not as a process that died with its VM (137). A
// next-exit wait taken in that window waits for this boot's exit and gets the guest's own code.
func TestStartingContainerIsNotKilled(t *testing.T) {
	m := oneCluster()
	m.DelayConfig.MethodDelay = map[string]int{"PowerOnVM_Task": 1500}
	e := newContainerEnvOn(t, m)
	info := e.create(t, spec("quick", "", models.Process{Path: "/bin/true"}, nil))
	id := *info.ID
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	g := newFakeGuest(t, e.c, info.VM, id)
	booted := g.bootWhenOn(ctx, e.b.ctr.attach.advertise)
	started := make(chan error, 1)
	go func() {
		_, err := e.b.StartContainer(ctx, id)
		started <- err
	}()
	var waited chan *models.ContainerState
	for waited == nil {
		c, err := e.b.GetContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-started:
			t.Fatalf("the start ended (%v) before the test saw its boot counted with the VM still off", err)
		default:
		}
		if c.State.Boot != 1 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if m := e.vm(t, info); m.Runtime.PowerState != "poweredOff" {
			t.Fatalf("the VM is %s already: the simulator's delay did not hold the power-on", m.Runtime.PowerState)
		}
		if !c.State.Running || *c.State.Status != statusRunning || c.State.ExitCode != 0 {
			t.Fatalf("a container whose VM is being powered on: %+v (status %s)", c.State, *c.State.Status)
		}
		waited = make(chan *models.ContainerState, 1)
		go func() {
			st, err := e.b.WaitContainer(ctx, id, "next-exit")
			if err != nil {
				t.Errorf("WaitContainer: %v", err)
			}
			waited <- st
		}()
	}
	if err := <-started; err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	if err := <-booted; err != nil {
		t.Fatalf("fake guest: %v", err)
	}
	if err := g.exit(ctx, 3); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-waited:
		if st == nil || st.ExitCode != 3 || st.Running || st.Boot != 1 {
			t.Errorf("next-exit wait taken while starting: %+v", st)
		}
	case <-ctx.Done():
		t.Fatal("the next-exit wait taken while starting did not see this boot's exit")
	}
}

// TestReadAcrossThePowerOnIsNotKilled is a description whose reads vSphere answered while the VM was still
// off, with its boot counted, and that reached the backend only after the power-on had ended: the container
// was being started for the whole of such a read, and reads so, never as a process that died with its VM
// (137), which the engine's next-exit wait would take for the end of the run it waits for. Both reads of a
// description are held so: the full read of a VM whose configuration changed (the boot count), and the probe
// of one read in full at its version.
func TestReadAcrossThePowerOnIsNotKilled(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the image store's disks need root to unpack")
	}
	m := oneCluster()
	m.DelayConfig.MethodDelay = map[string]int{"PowerOnVM_Task": 1000}
	s := startSim(t, m, nil)
	proxy := newHoldingProxy(t, s.url)
	cfg := s.config()
	cfg.URL = proxy.url
	b := newBackend(t, cfg)
	e := &containerEnv{b: b, c: s.client(t), dsDir: datastoreDir(t, b)}
	info := e.create(t, spec("across", "", models.Process{Path: "/bin/true"}, nil))
	id := *info.ID
	b.stopWatch() // every description reads: no kept probe answers in place of a held read
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	g := newFakeGuest(t, e.c, info.VM, id)
	booted := g.bootWhenOn(ctx, b.ctr.attach.advertise)
	started := make(chan error, 1)
	go func() {
		_, err := b.StartContainer(ctx, id)
		started <- err
	}()
	// The start has counted the boot and is in its power-on.
	for {
		if vm := e.vm(t, info); vmExtra(vm, keyBoot) == "1" {
			if vm.Runtime.PowerState != "poweredOff" {
				t.Fatalf("the VM is %s already: the simulator's delay did not hold the power-on", vm.Runtime.PowerState)
			}
			break
		}
		select {
		case err := <-started:
			t.Fatalf("the start ended (%v) before the test saw its boot counted", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	type described struct {
		name string
		hold *heldRead
		c    chan *models.ContainerInfo
	}
	describe := func(name string, h *heldRead) described {
		d := described{name, h, make(chan *models.ContainerInfo, 1)}
		go func() {
			c, err := b.GetContainer(ctx, id)
			if err != nil {
				t.Errorf("GetContainer (%s): %v", name, err)
			}
			d.c <- c
		}()
		if h == nil {
			if c := <-d.c; c == nil || !c.State.Running {
				t.Fatalf("read while being started: %+v", c)
			}
			return d
		}
		select {
		case <-h.held:
		case c := <-d.c:
			t.Fatalf("the description (%s) was answered without the read to hold: %+v", name, c)
		case <-ctx.Done():
			t.Fatalf("the description's read (%s) did not come", name)
		}
		return d
	}
	full := describe("full read", proxy.next(info.VM, fullRead))
	describe("unheld", nil) // reads the VM in full at its new version, for the probe that follows
	probe := describe("probe", proxy.next(info.VM, probeRead))
	if vm := e.vm(t, info); vm.Runtime.PowerState != "poweredOff" {
		t.Fatalf("the VM is %s already: the held reads may have seen it on", vm.Runtime.PowerState)
	}
	if err := <-started; err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	for _, d := range []described{full, probe} {
		close(d.hold.release)
		c := <-d.c
		if c == nil {
			t.FailNow()
		}
		if st := c.State; !st.Running || *st.Status != statusRunning || st.ExitCode != 0 || st.Boot != 1 {
			t.Errorf("%s while being started, answered after: %+v (status %s)", d.name, st, *st.Status)
		}
	}
	if after, err := b.GetContainer(ctx, id); err != nil || !after.State.Running {
		t.Errorf("read after the start: %+v, %v", after, err)
	}
	if err := <-booted; err != nil {
		t.Fatalf("fake guest: %v", err)
	}
	if err := g.exit(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

// vmExtra is the value of key in vm's extraConfig.
func vmExtra(vm *mo.VirtualMachine, key string) string {
	if vm.Config == nil {
		return ""
	}
	for _, o := range vm.Config.ExtraConfig {
		if ov := o.GetOptionValue(); ov != nil && ov.Key == key {
			v, _ := ov.Value.(string)
			return v
		}
	}
	return ""
}

// holdingProxy passes the backend's SOAP requests to the simulator, and holds the answer of one chosen
// property read, already made by vSphere, until the test releases it: a read that vSphere answers at one
// moment and the backend receives at a later one.
type holdingProxy struct {
	url   string
	armed atomic.Pointer[heldRead]
	mu    sync.Mutex
	holds []*heldRead
}

// heldRead is a read to hold: a property read naming a VM, in full or a probe.
type heldRead struct {
	vm      []byte
	full    bool
	held    chan struct{} // closed once the read's answer has come from vSphere
	release chan struct{} // closed by the test to let it go on
}

const (
	fullRead  = true
	probeRead = false
)

func newHoldingProxy(t *testing.T, target *url.URL) *holdingProxy {
	t.Helper()
	h := &holdingProxy{}
	plain := *target
	plain.User, plain.Path = nil, ""
	rp := httputil.NewSingleHostReverseProxy(&plain)
	rp.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				return nil, err
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		res, err := insecureTransport.RoundTrip(r)
		hold := h.holding(body)
		if err != nil || hold == nil {
			return res, err
		}
		answer, err := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(answer))
		close(hold.held)
		select {
		case <-hold.release:
		case <-r.Context().Done():
		}
		return res, err
	})
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	srv := httptest.NewServer(rp)
	t.Cleanup(func() {
		h.mu.Lock()
		for _, r := range h.holds {
			select {
			case <-r.release:
			default:
				close(r.release)
			}
		}
		h.mu.Unlock()
		srv.Close()
	})
	u, _ := url.Parse(srv.URL)
	u.User, u.Path = target.User, target.Path
	h.url = u.String()
	return h
}

// next holds the answer of the next property read of vm (a reference such as "VirtualMachine:vm-1") that is
// a full read (fullRead) or a probe (probeRead).
func (h *holdingProxy) next(vm string, full bool) *heldRead {
	var ref types.ManagedObjectReference
	ref.FromString(vm)
	r := &heldRead{vm: []byte(">" + ref.Value + "<"), full: full, held: make(chan struct{}), release: make(chan struct{})}
	h.mu.Lock()
	h.holds = append(h.holds, r)
	h.mu.Unlock()
	h.armed.Store(r)
	return r
}

// holding is the armed read when body is it, and disarms the proxy then.
func (h *holdingProxy) holding(body []byte) *heldRead {
	r := h.armed.Load()
	if r == nil || !bytes.Contains(body, []byte("RetrieveProperties")) || !bytes.Contains(body, r.vm) {
		return nil
	}
	// A full read asks for the whole extraConfig; a probe for one key of it.
	if bytes.Contains(body, []byte(">config.extraConfig<")) != r.full || !h.armed.CompareAndSwap(r, nil) {
		return nil
	}
	return r
}

var insecureTransport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
