package vcsim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// vAppUpdateConfig fills one gap of govmomi's simulator. On vCenter a vApp is a resource pool, so
// ResourcePool.UpdateConfig changes a vApp's CPU and memory allocation (vice-machine configure --cpu
// --memory on a VCH); the simulator's VirtualApp lacks the method and answers "does not implement".
//
// The shim sends such a call, with everything else the simulator does for it (authentication, decoding,
// validation, faults), to a stand-in resource pool holding a copy of the vApp's configuration, and copies
// the result back into the vApp when the call succeeded. Every other request goes to the simulator as is.
type vAppUpdateConfig struct {
	svc *simulator.Service
	mu  sync.Mutex // one stand-in at a time
}

// updateConfigOnVApp matches the call's target in a SOAP request: <_this type="VirtualApp">resgroup-v42</_this>.
var updateConfigOnVApp = regexp.MustCompile(`<_this[^>]*type="VirtualApp"[^>]*>\s*([^<\s]+)\s*</_this>`)

func (h *vAppUpdateConfig) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !bytes.Contains(body, []byte("<UpdateConfig")) { // every other call, cheaply
		h.forward(w, r, body)
		return
	}
	m := updateConfigOnVApp.FindSubmatchIndex(body)
	if m == nil {
		h.forward(w, r, body)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx := h.svc.Context
	ref := types.ManagedObjectReference{Type: "VirtualApp", Value: string(body[m[2]:m[3]])}
	vapp, ok := ctx.Map.Get(ref).(*simulator.VirtualApp)
	if !ok {
		h.forward(w, r, body) // the simulator says the object is not there
		return
	}
	var stand *simulator.ResourcePool
	ctx.Map.WithLock(ctx, vapp, func() {
		stand = &simulator.ResourcePool{ResourcePool: vapp.ResourcePool}
	})
	stand.Self = types.ManagedObjectReference{Type: "ResourcePool", Value: ref.Value + "-update"}
	ctx.Map.Put(stand)
	defer ctx.Map.Remove(ctx, stand.Self)

	call := append(bytes.Clone(body[:m[0]]), fmt.Sprintf(`<_this type="ResourcePool">%s</_this>`, stand.Self.Value)...)
	call = append(call, body[m[1]:]...)
	rec := &statusRecorder{ResponseWriter: w}
	h.forward(rec, r, call)
	if rec.status != http.StatusOK {
		return
	}
	ctx.Map.AtomicUpdate(ctx, vapp, []types.PropertyChange{{Name: "name", Val: stand.Name}, {Name: "config", Val: stand.Config}})
}

func (h *vAppUpdateConfig) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	h.svc.ServeSDK(w, r)
}

// statusRecorder remembers the status the simulator answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}
